"""The KV cache page (app/views/11_KV_cache.py) and its service (dashboard.kv, dashboard.figures.kv): the tiny random
Llama of kv_helpers saved with its tokenizer and named by LENS_LANGUAGE_MODEL, opened through app/Home.py; small IMDb
and AG News test splits made here."""
from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kv_helpers import make_lm
from lens_helpers import open_page
from dashboard import figures, kv
from dashboard.figures.kv import binned
from pruning_core.generation import build_press, load_language_model
from pruning_core.generation.model import INSTALL_HINT
from pruning_core.text import data as text_data
from pruning_core.text.data import DatasetUnavailableError

KV = "views/11_KV_cache.py"
REVIEWS = ["the movie was boring and the actors were awful .", "a great film , i love the music and the story !",
           "the plot was bad but the ending was fun ."]
ARTICLES = ["oil prices rise as the bank reports profit .", "the team wins the league game in the last season .",
            "google and linux : a new internet for people of the world ."]


@pytest.fixture(scope="module")
def model_folder(tiny_language_model) -> Path:
    """The tiny Llama and its tokenizer as a folder (conftest saves it once for the whole run)."""
    return tiny_language_model


@pytest.fixture
def tiny(model_folder, artifacts, monkeypatch) -> Path:
    import streamlit as st
    monkeypatch.setenv("LENS_LANGUAGE_MODEL", str(model_folder))
    st.cache_data.clear()
    return model_folder


@pytest.fixture
def lm(model_folder):
    return load_language_model(str(model_folder))


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    for name, texts, labels in (("imdb", REVIEWS, [0, 1, 0]), ("ag_news", ARTICLES, [2, 1, 3])):
        (folder / name).mkdir(parents=True)
        pd.DataFrame({"text": texts, "label": labels}).to_parquet(folder / name / "test.parquet")
    monkeypatch.setenv("LENS_DATA_DIR", str(folder))
    return folder


def html_of(app: AppTest) -> str:
    return "".join(element.proto.body for element in app.html)


def visible_text(page: str) -> str:
    """What a reader sees of escaped HTML: tags dropped, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def answers_shown(app: AppTest) -> list[str]:
    return re.findall(r'<div class="kv-answer" dir="auto">(.*?)</div>', html_of(app), flags=re.S)


def metric_values(app: AppTest, label: str) -> list[str]:
    return [metric.value for metric in app.metric if metric.label == label]


def expected_run(lm, press: str = kv.DEFAULT_PRESS, budget: float = kv.DEFAULT_BUDGET, **settings) -> kv.KvRun:
    prompt = kv.paste_prompt(lm, kv.EXAMPLE_CONTEXT, kv.EXAMPLE_QUESTION).prompt
    return kv.run_pair(lm, prompt, build_press(press, **settings), budget, kv.DEFAULT_NEW_TOKENS)


# --- the page -------------------------------------------------------------------------------------------------

def test_the_page_answers_with_the_full_and_the_pressed_cache_side_by_side(tiny, lm):
    app = open_page(KV)
    run = expected_run(lm)
    assert answers_shown(app) == [html.escape(run.full.answer), html.escape(run.pressed.answer)]
    assert metric_values(app, "Of the full cache") == ["100%", f"{run.pressed.cache_share:.0%}"]
    assert run.pressed.cache_share < 1                                    # the press kept less
    assert len(metric_values(app, "Decoding, per token")) == 2 and len(app.dataframe) == 2   # time, top 5 each
    shown = re.findall(r'title="kept by (\d+) of 2 layers"', html_of(app))
    assert [int(count) for count in shown] == run.pressed.layers_kept.tolist()     # every context token, coloured
    assert app.query_params["press"] == kv.DEFAULT_PRESS and app.query_params["question"] == kv.EXAMPLE_QUESTION


def test_a_link_sets_the_press_and_the_budget(tiny, lm):
    app = open_page(KV, press="snapkv", budget="0.5")
    assert app.selectbox(key="kv_press").value == "snapkv" and app.slider(key="kv_budget").value == 0.5
    assert metric_values(app, "Of the full cache")[1] == f"{expected_run(lm, 'snapkv', 0.5).pressed.cache_share:.0%}"
    other = open_page(KV, press="h2o", budget="0.75", recent="0.25")
    assert other.selectbox(key="kv_press").value == "h2o" and other.slider(key="kv_recent").value == 0.25
    run = expected_run(lm, "h2o", 0.75, recent=0.25)
    assert answers_shown(other)[1] == html.escape(run.pressed.answer)
    assert other.query_params["recent"] == "0.25" and other.query_params["budget"] == "0.75"


@pytest.mark.parametrize("name, given", [("press", "magic"), ("budget", "nan"), ("budget", "7"), ("kernel", "4"),
                                         ("tokens", "0")])
def test_a_hostile_link_value_gets_the_pages_note_and_the_default(tiny, name, given):
    app = open_page(KV, **{name: given})
    note = next(warning.value for warning in app.warning if "could not all be used" in warning.value)
    line = next(line for line in note.splitlines() if f"`{name}={given}`" in line)
    assert "; using `" in line                                            # refused as a value, not an unknown name
    assert len(answers_shown(app)) == 2                                   # the page still answers, with the defaults


def test_a_missing_model_gives_a_clear_message_with_the_install_command(artifacts, tmp_path, monkeypatch):
    empty = tmp_path / "no-model"
    empty.mkdir()
    monkeypatch.setenv("LENS_LANGUAGE_MODEL", str(empty))
    app = open_page(KV)
    assert "cannot be loaded" in app.error[0].value and INSTALL_HINT in app.error[0].value
    assert not app.metric and not answers_shown(app)


def test_typed_html_is_shown_as_text(tiny):
    app = open_page(KV, context="the <script>alert(1)</script> movie was great", question="<b>why</b> ?")
    body = html_of(app)
    assert len(answers_shown(app)) == 2
    assert "<script" not in body and "<b>why" not in body
    assert "<script>alert(1)</script> movie" in visible_text(body)       # shown, as typed


def test_a_rolling_press_shows_the_cache_shrinking_answer_token_by_answer_token(tiny):
    app = open_page(KV, press="h2o", budget="0.5", rolling="1", tokens="8")
    steps = app.select_slider(key="kv_step")
    first = html_of(app).count("kv-out")
    steps.set_value(7).run()
    assert not app.exception and html_of(app).count("kv-out") > first      # more evicted by the last answer token
    app.radio(key="kv_head_view").set_value("layers").run()
    assert not app.exception and len(app.get("plotly_chart")) == 2       # tokens per layer, and one head's layers


def test_without_the_datasets_a_dataset_source_says_so_and_pasting_still_works(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "empty"))

    def offline(name, split, local):
        raise DatasetUnavailableError(f"{name} {split!r} is unavailable (offline in tests).")
    monkeypatch.setattr(text_data, "_from_hub", offline)
    app = open_page(KV, source="imdb")
    assert any("IMDb test reviews are not available" in info.value for info in app.info)
    assert not answers_shown(app)
    app.radio(key="kv_source").set_value("paste").run()
    assert not app.exception and len(answers_shown(app)) == 2


def test_an_imdb_review_is_asked_for_its_sentiment_with_its_true_label(tiny, data_dir):
    app = open_page(KV, source="imdb", review="1")
    assert any("True label: **positive**" in caption.value for caption in app.caption)
    assert "love the music" in visible_text(html_of(app)) and len(answers_shown(app)) == 2


def test_an_ag_news_needle_hides_its_code_in_the_haystack(tiny, data_dir, lm):
    app = open_page(KV, source="needle", depth="0.5", haystack="500")
    code = kv.needle_prompt(lm, text_data.load_dataset("ag_news", "test"), 0.5, 500).expected
    assert any(f"hidden code is **{code}**" in caption.value for caption in app.caption)
    assert f"secret code is {code}" in visible_text(html_of(app))   # the needle, inside the context
    assert len(answers_shown(app)) == 2


# --- the service ----------------------------------------------------------------------------------------------

def test_the_csv_export_has_one_row_per_context_token_with_each_layers_share(lm):
    trace = expected_run(lm, "pyramid", 0.5).pressed
    rows = list(csv.DictReader(io.StringIO(kv.trace_csv(trace).decode("utf-8"))))
    assert len(rows) == trace.context_length and [int(row["position"]) for row in rows] == list(range(len(rows)))
    assert np.allclose([float(row["kept_share"]) for row in rows], trace.kept_share, atol=1e-3)
    assert [int(row["layers_kept"]) for row in rows] == trace.layers_kept.tolist()
    layer_two = [float(row["layer_2"]) for row in rows]
    assert np.allclose(layer_two, trace.kept[1].mean(axis=0), atol=1e-3) and "layer_3" not in rows[0]


def test_the_pieces_give_back_the_context_and_the_colouring_escapes_it(lm):
    context = "the <script>alert('x')</script> film & the music"
    prompt = kv.paste_prompt(lm, context, "why ?").prompt
    trace = kv.run_pair(lm, prompt, build_press("streaming"), 0.5, 2).pressed
    pieces = kv.context_pieces(trace)
    assert "".join(piece.gap + piece.text for piece in pieces if not piece.special) == context
    shares, notes = kv.colouring(trace, layer=1)
    assert np.allclose(shares, trace.kept[1].mean(axis=0))
    page = figures.trace_context_html(trace, shares, notes)
    assert "<script" not in page and "&amp;" in page and context in visible_text(page)


def test_colouring_counts_layers_and_refuses_a_layer_or_step_outside_the_trace(lm):
    trace = expected_run(lm, "tova", 0.3).pressed
    shares, notes = kv.colouring(trace)
    assert np.allclose(shares * trace.num_layers, trace.layers_kept)
    with pytest.raises(ValueError, match="layer"):
        kv.colouring(trace, layer=trace.num_layers)
    with pytest.raises(ValueError, match="step"):
        kv.colouring(trace, step=len(trace.answer_ids))


def test_a_long_context_is_averaged_into_at_most_max_columns():
    matrix = np.zeros((3, 1800))
    matrix[:, ::2] = 1.0
    means, spans = binned(matrix, 300)
    assert means.shape == (3, 300) and spans[0] == (0, 5) and spans[-1] == (1794, 1799)
    assert np.allclose(means, 0.5)                                        # runs of 6 alternating tokens
    same, single = binned(matrix[:, :10], 300)
    assert np.array_equal(same, matrix[:, :10]) and single[3] == (3, 3)


def test_the_answers_export_holds_both_answers_and_the_question(lm):
    run = expected_run(lm)
    labelled = kv.paste_prompt(lm, kv.EXAMPLE_CONTEXT, kv.EXAMPLE_QUESTION)
    record = json.loads(kv.answers_json(run, labelled))
    assert record["full"]["answer"] == run.full.answer and record["pressed"]["answer"] == run.pressed.answer
    assert record["question"] == kv.EXAMPLE_QUESTION and record["pressed"]["config"]["press"] == kv.DEFAULT_PRESS


# --- the stored benchmark -------------------------------------------------------------------------------------

def test_without_a_stored_benchmark_the_page_says_how_to_make_one(tiny):
    app = open_page(KV)
    assert any("python -m pipelines.kv" in info.value for info in app.info)
    assert not any("against the cache kept" in chart.proto.spec for chart in app.get("plotly_chart"))


def test_a_stored_benchmark_is_drawn_press_by_press(tiny, lm, tmp_path):
    from pipelines import kv as kv_pipeline
    from pipeline_data import make_data_dir
    from pruning_core.paths import db_path

    options = kv_pipeline.kv_options("quick", imdb=4, needles=1, depths=2, haystack_tokens=40, budgets=(0.25, 0.5),
                                     presses=("streaming", "snapkv"), timing_contexts=(40,), repeats=1,
                                     decode_tokens=2, token_sample=2, threads=1, quiet_wait=0.0)
    sweep = kv_pipeline.run(options, db_path(), str(make_data_dir(tmp_path / "data")), lm=make_lm(),
                            annotate=_annotator, progress=False)
    app = open_page(KV)
    assert not app.exception
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    titles = [spec["layout"]["title"]["text"] for spec in specs]
    assert any("IMDb zero-shot sentiment: accuracy against the cache kept" in t for t in titles)
    assert any("AG News needle: exact match against decode speed at 40 context tokens" in t for t in titles)
    budget_chart = next(s for s, t in zip(specs, titles) if t.startswith("IMDb") and "cache kept" in t)
    assert sorted(trace["name"] for trace in budget_chart["data"]) == ["snapkv", "streaming"]
    assert any(sweep in caption.value for caption in app.caption)
    pos_chart = next(s for s, t in zip(specs, titles) if "part of speech" in t)
    assert {bar["name"] for bar in pos_chart["data"]} == {"snapkv", "streaming"}


def _annotator(texts):
    from test_kv_pipeline import whitespace_annotator
    return whitespace_annotator(texts)
