"""Every dashboard page run headless with Streamlit's AppTest, on a tiny model in a temporary artifacts folder."""
from __future__ import annotations

import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from lens_helpers import open_page, save_tiny_model
from dashboard import jobs
from pruning_core.methods import NoPruning, TopK
from dashboard.live import EXAMPLES

LIVE = "views/1_Live_text.py"


def html_of(app: AppTest) -> str:
    return "".join(element.proto.body for element in app.html)


# --- Home -------------------------------------------------------------------------------------------------

def test_home_without_models_says_so_and_that_no_demo_builder_is_here(artifacts, monkeypatch):
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: False)
    app = open_page()
    assert app.title[0].value == "Token Pruning Lens"
    assert any("No trained models yet" in info.value for info in app.info)
    assert any("Demo builder not available" in info.value for info in app.info)
    assert not app.button


def test_home_lists_trained_models(artifacts):
    save_tiny_model(artifacts, "imdb-quick/ltp_hard", metrics={"dataset": "imdb", "accuracy": 0.81})
    app = open_page()
    table = app.dataframe[0].value
    assert list(table["model"]) == ["imdb-quick/ltp_hard"] and table["accuracy"][0] == pytest.approx(0.81)
    assert not any("Demo" in header.value for header in app.subheader)


FAKE_DEMO = """
import json, pathlib, sys, time
progress = pathlib.Path(sys.argv[1])
progress.write_text(json.dumps({"fraction": 0.25, "message": "Training IMDb", "done": False, "error": None}))
release = progress.parent / "release"
while not release.exists():
    time.sleep(0.05)
models = progress.parent.parent / "models" / "demo" / "ltp_hard"
models.mkdir(parents=True)
(models / "pruning.json").write_text(json.dumps({"method": "none", "config": {}}))
(models / "config.json").write_text(json.dumps({"model_type": "bert"}))
progress.write_text(json.dumps({"fraction": 1.0, "message": "Finished", "done": True, "error": None}))
"""


def test_home_builds_demo_models_in_the_background_with_a_progress_bar(artifacts, monkeypatch):
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: True)
    monkeypatch.setattr(jobs, "demo_command", lambda progress, datasets=(): [sys.executable, "-c", FAKE_DEMO,
                                                                             str(progress)])
    job = jobs.demo_job(artifacts)
    try:
        app = open_page()
        app.button(key="do_build_demo").click().run()
        assert not app.exception
        deadline = time.monotonic() + 30
        while job.progress().message != "Training IMDb":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app.run()                                   # a rerun (another tab) follows the same job
        assert app.get("progress")[0].proto.value == 25
        assert "Training IMDb" in app.get("progress")[0].proto.text
        assert not app.button                       # no second start offered while it runs
        (job.folder / "release").touch()
        while job.running():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app.run()
        assert any("demo models are built" in success.value for success in app.success)
        assert list(app.dataframe[0].value["model"]) == ["demo/ltp_hard"]   # the new model is listed
    finally:
        job.stop()


# --- Live text --------------------------------------------------------------------------------------------

def test_live_text_shows_prediction_timing_layers_and_charts(artifacts):
    save_tiny_model(artifacts, metrics={"label_names": ["negative", "positive"]})
    app = open_page(LIVE)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Prediction"] in ("negative", "positive")
    assert metrics["Model time"].endswith(" ms") and "→" in metrics["Tokens read"]
    assert html_of(app).count('class="tpl-row"') == 4                 # one row per layer of the tiny model
    assert len(app.get("plotly_chart")) == 2
    assert app.radio(key="method_kind").value == "own"                # the model's saved LTP
    assert not app.warning                                            # a trained model: no random-head warning


def test_live_text_method_controls_change_the_pruning(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input("the movie was great , i love the story and the music .").run()
    app.radio(key="method_kind").set_value("none").run()
    assert app.metric[3].value == "15 → 15"               # 13 words, CLS and SEP
    app.radio(key="method_kind").set_value("topk").run()
    app.slider(key="text_topk_keep_ratio").set_value(0.5).run()
    assert app.metric[3].value == "15 → 8"                # read: alive on entry to the last layer (15, 12, 10, 8, 7)
    app.radio(key="text_topk_schedule").set_value("cascade").run()
    app.slider(key="text_topk_r_max").set_value(0.9).run()
    app.radio(key="method_kind").set_value("own").run()
    app.slider(key="text_own_adjustment").set_value(0.0).run()        # LTP's thresholds scaled to 0 keep everything
    assert app.metric[3].value == "15 → 15"
    app.radio(key="unit").set_value("subwords").run()
    app.toggle(key="hide_gone").set_value(True).run()
    assert not app.exception and "[CLS]" in html_of(app)


def test_live_text_example_buttons_fill_the_box_and_turn_to_a_model_of_their_dataset(artifacts):
    save_tiny_model(artifacts, "imdb-quick/ltp_hard", metrics={"dataset": "imdb", "accuracy": 0.8})
    save_tiny_model(artifacts, "ag_news-quick/ltp_hard", metrics={"dataset": "ag_news", "accuracy": 0.8})
    app = open_page(LIVE)
    assert app.selectbox(key="model_key").value == "imdb-quick/ltp_hard"   # reviews first
    review, news = EXAMPLES[2], next(example for example in EXAMPLES if example.dataset == "ag_news")
    app.button(key=f"do_example_{review.name}").click().run()
    assert app.text_area(key="live_text").value == review.text and app.selectbox(key="model_key").value == \
        "imdb-quick/ltp_hard"
    app.button(key=f"do_example_{news.name}").click().run()              # news: the news model reads it
    assert app.text_area(key="live_text").value == news.text and not app.exception
    assert app.selectbox(key="model_key").value == "ag_news-quick/ltp_hard"


@pytest.mark.parametrize("text", ["", "   "])
def test_live_text_empty_text_gets_a_hint(artifacts, text):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input(text).run()
    assert not app.exception and not app.error and not app.metric
    assert any("Type or paste" in info.value for info in app.info)


def test_live_text_huge_text_is_truncated_with_a_notice(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input(("the film was fun . " * 6000)[:100_000]).run()
    assert not app.exception
    assert any("100,000 characters" in warning.value for warning in app.warning)
    assert app.metric[3].value.startswith("256 →")


def test_live_text_typed_html_is_shown_as_text(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input('<script>alert("x")</script> <img src=x onerror=alert(1)> great').run()
    body = html_of(app)
    assert not app.exception and "<script>" not in body and "<img" not in body
    assert "&lt;" in body


def test_live_text_emoji_and_right_to_left_text(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input("great 😀 film שלום עולם مرحبا").run()
    body = html_of(app)
    assert not app.exception and "😀" in body and "שלום" in body and 'dir="auto"' in body


def test_live_text_a_broken_model_gives_a_clear_message(artifacts):
    folder = save_tiny_model(artifacts, "broken/ltp_hard")
    (folder / "model.safetensors").unlink()
    app = open_page(LIVE)
    assert not app.exception and not app.metric
    assert "cannot be loaded" in app.error[0].value and "broken" in app.error[0].value


# --- Links and state across pages -------------------------------------------------------------------------

def test_live_text_opens_from_a_link_with_its_text_and_settings(artifacts):
    save_tiny_model(artifacts, "a/ltp_hard")
    save_tiny_model(artifacts, "b/baseline", method=NoPruning())
    app = open_page(LIVE, text="the story was great & the music <b>fun</b>", model="b/baseline", method="topk",
                    schedule="ratio", keep="0.5", score="received", unit="subwords", hide="1")
    assert app.text_area(key="live_text").value == "the story was great & the music <b>fun</b>"
    assert app.selectbox(key="model_key").value == "b/baseline"
    assert app.radio(key="method_kind").value == "topk" and app.slider(key="text_topk_keep_ratio").value == 0.5
    assert app.radio(key="text_topk_score").value == "received" and app.toggle(key="hide_gone").value
    tokens = app.metric[3].value.split(" → ")
    assert int(tokens[1]) == TopK.geometric(0.5, 4).expected_counts(int(tokens[0]), 4)[-2]   # the link's keep ratio
    assert "<b>fun" not in html_of(app)                                # the text from the URL is escaped
    assert app.query_params["keep"] == "0.5" and app.query_params["model"] == "b/baseline"


def test_live_text_writes_its_settings_into_the_url_as_they_change(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input("a great film").run()
    app.radio(key="method_kind").set_value("topk").run()
    app.slider(key="text_topk_keep_ratio").set_value(0.25).run()
    assert app.query_params["text"] == "a great film" and app.query_params["method"] == "topk"
    assert app.query_params["keep"] == "0.25"
    reopened = open_page(LIVE, **dict(app.query_params))
    assert reopened.metric[3].value == app.metric[3].value             # the link reopens the same view


def test_a_link_with_bad_values_says_so_and_shows_the_defaults(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE, method="magic", keep="7", hide="maybe", model="no/such-model", text="fine words")
    note = next(warning.value for warning in app.warning if "could not all be used" in warning.value)
    for given in ("method=magic", "keep=7", "hide=maybe", "model=no/such-model"):
        assert f"`{given}`" in note                                   # each refused value named, as given
    assert "`model=no/such-model` does not fit here; using `tiny/ltp_hard`" in note   # and what was used instead
    assert not any("not available here" in warning.value for warning in app.warning)   # said once, not twice
    assert app.radio(key="method_kind").value == "own" and app.text_area(key="live_text").value == "fine words"


def test_settings_survive_a_change_of_page(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE)
    app.text_area(key="live_text").input("the music was fun").run()
    app.radio(key="method_kind").set_value("topk").run()
    app.slider(key="text_topk_keep_ratio").set_value(0.75).run()
    app.switch_page("views/0_Overview.py").run()
    assert app.title[0].value == "Token Pruning Lens"
    app.switch_page(LIVE).run()
    assert app.text_area(key="live_text").value == "the music was fun"
    assert app.radio(key="method_kind").value == "topk" and app.slider(key="text_topk_keep_ratio").value == 0.75


def test_live_text_starts_on_a_sentiment_model_and_says_what_it_does(artifacts):
    save_tiny_model(artifacts, "ag_news-quick/ltp_hard", metrics={"dataset": "ag_news", "accuracy": 0.9})
    save_tiny_model(artifacts, "imdb-quick/ltp_hard", metrics={"dataset": "imdb", "accuracy": 0.8,
                                                               "label_names": ["negative", "positive"]})
    app = open_page(LIVE)
    assert app.selectbox(key="model_key").value == "imdb-quick/ltp_hard"     # the examples are reviews
    assert "Trained for movie-review sentiment (IMDb): answers one of negative, positive." in \
        [caption.value for caption in app.sidebar.caption]


def test_live_text_moves_to_the_first_trained_model_as_soon_as_it_is_saved(artifacts):
    app = open_page(LIVE)
    assert app.selectbox(key="model_key").value == "packaged/all-MiniLM-L6-v2" and app.warning
    save_tiny_model(artifacts, "imdb-quick/baseline", method=NoPruning(), metrics={"dataset": "imdb"})
    app.text_area(key="live_text").input("a fine film").run()                  # the next interaction
    assert app.selectbox(key="model_key").value == "imdb-quick/baseline" and not app.warning


def test_home_says_which_hub_files_the_build_will_download_without_local_data(artifacts, monkeypatch, tmp_path):
    from huggingface_hub import constants
    from pruning_core import hub
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)                   # online, whatever this machine is
    monkeypatch.setattr(hub, "probe", lambda url, timeout: True)
    monkeypatch.setattr(hub, "_probes", {})
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))                      # an empty hub cache
    pitch = " ".join(markdown.value for markdown in open_page().markdown)
    assert "first downloads" in pitch
    for dataset, split in (("imdb", "train"), ("imdb", "test"), ("ag_news", "train"), ("ag_news", "test")):
        assert f"{dataset} {split}: will download hub file hf://datasets/" in pitch


def test_home_downloads_nothing_with_a_local_data_folder(artifacts, monkeypatch, tmp_path):
    from pipeline_data import make_data_dir
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: True)
    monkeypatch.setenv("LENS_DATA_DIR", str(make_data_dir(tmp_path / "data", train=4, test=4)))
    pitch = " ".join(markdown.value for markdown in open_page().markdown)
    assert "Train small demo models" in pitch and "download" not in pitch.replace(str(tmp_path), "")
