"""The dataset pages (and Home's runs) run headless with AppTest on a tiny but complete artifacts folder
(tests/app_data.py: real trace and analysis pipelines on tiny models), on an empty one, on one whose runs are
not analysed, and while the store is busy."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_data import AG_NEWS_RUN, IMDB_LTP_RUN, lens, lens_root, save_model  # noqa: F401 (fixtures)
from pipelines import trace
from lens_helpers import open_page, use_artifacts
from pipeline_data import make_data_dir
from test_dataset_views import honest_sweep
from pruning_core import storage as store
from pruning_core.analysis.faithfulness import faithfulness_by_class, faithfulness_summary
from pruning_core.text.data import load_dataset
from dashboard.live import classify_live
from pruning_core.methods import LearnedTokenPruning
from dashboard.stored_trace import trace_from_store
from dashboard.navigation import PAGES
from dashboard.tables import MAX_KEYWORDS
from pruning_core.text import load_text_classifier

PATTERNS, EMBEDDINGS, KEYWORDS = "views/2_Token_patterns.py", "views/3_Embeddings.py", "views/4_Domain_keywords.py"
SPEED, COMPARE, LIVE = "views/5_Accuracy_vs_speed.py", "views/6_Compare.py", "views/1_Live_text.py"
FINDINGS = "views/9_Findings.py"
DATASET_PAGES = (PATTERNS, EMBEDDINGS, KEYWORDS, SPEED, COMPARE, FINDINGS)


@pytest.fixture
def empty(tmp_path, monkeypatch) -> Path:
    return use_artifacts(monkeypatch, tmp_path / "artifacts")


def values(data: list | dict) -> list:
    """A Plotly JSON array: a plain list, or {"dtype", "bdata"} (base64) for numpy arrays."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def charts(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def titles(app: AppTest) -> list[str]:
    return [chart["layout"]["title"]["text"] for chart in charts(app)]


def infos(app: AppTest) -> str:
    return " ".join(info.value for info in app.info)


# --- Home ------------------------------------------------------------------------------------------------

def test_home_lists_the_stored_runs_and_links_every_page(lens):
    app = open_page()
    runs = app.dataframe[1].value
    assert set(runs["run"]) == {IMDB_LTP_RUN, AG_NEWS_RUN, "imdb-tiny-baseline-test", "imdb-tiny-ts_dtp-test"}
    assert runs.set_index("run").loc[IMDB_LTP_RUN, "analysed"]
    assert not runs.set_index("run").loc["imdb-tiny-ts_dtp-test", "analysed"]
    links = [link.proto.page for link in app.get("page_link")]
    assert len(links) == len(PAGES) - 1                                  # every page but Home itself
    assert any("Compare" in link for link in links) and any("Image" in link for link in links)


def test_home_without_a_database_says_what_to_run(empty):
    app = open_page()
    assert "No runs in the database yet" in infos(app) and "pipelines.demo" in infos(app)


# --- every dataset page, with nothing to read ------------------------------------------------------------

@pytest.mark.parametrize("page", DATASET_PAGES)
def test_an_empty_database_gives_each_page_what_to_run(empty, page):
    app = open_page(page)
    assert "pipelines.demo" in infos(app) or "pipelines.benchmark" in infos(app)
    assert not app.get("plotly_chart") and not app.error


@pytest.mark.parametrize("page", (PATTERNS, EMBEDDINGS, KEYWORDS, FINDINGS))
def test_runs_not_analysed_yet_name_the_analysis_to_run(tmp_path, monkeypatch, page):
    artifacts = use_artifacts(monkeypatch, tmp_path / "artifacts")
    data_dir = make_data_dir(tmp_path / "data", train=8, test=8)
    folder = save_model(artifacts, "imdb-tiny/ltp_hard", "imdb", LearnedTokenPruning(4, [0.02, 0.05, 0.08, 0.1]))
    trace.run(folder, db=artifacts / "lens.duckdb", data_dir=str(data_dir))
    app = open_page(page)
    assert f"python -m pipelines.analyze --run {IMDB_LTP_RUN}" in infos(app)


def test_a_busy_store_says_retry(lens, monkeypatch):
    def busy(*args, **kwargs):
        raise store.StoreBusy()
    monkeypatch.setattr(store, "runs", busy)
    app = open_page(PATTERNS)
    assert "being updated" in infos(app) and app.button(key="do_retry")
    home = open_page()                              # Home shows the notice and keeps working
    assert "being updated" in infos(home) and home.get("page_link")


def write_unusable_database(artifacts: Path, kind: str) -> Path:
    """A lens.duckdb that cannot be used: a 0-byte file, random bytes, or another program's valid database."""
    import duckdb
    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / "lens.duckdb"
    if kind == "empty file":
        path.touch()
    elif kind == "corrupt":
        path.write_bytes(bytes(range(256)) * 64)
    else:
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE invoices (id INTEGER, total DOUBLE)")
    return path


@pytest.mark.parametrize("kind, says", [("empty file", "is empty (0 bytes)"),
                                        ("corrupt", "damaged or not a DuckDB database"),
                                        ("foreign", "belongs to another program (its tables: invoices)")])
def test_every_data_page_explains_an_unusable_database_and_leaves_it_alone(empty, kind, says):
    path = write_unusable_database(empty, kind)
    before = path.read_bytes()
    for page in (None, *DATASET_PAGES):
        app = open_page(page)                                   # run_page asserts no exception (no traceback)
        errors = " ".join(error.value for error in app.error)
        assert says in errors and "pipelines.demo" in errors, (page, errors)
    assert path.read_bytes() == before                         # nothing was written to it


def test_an_empty_but_valid_database_says_there_are_no_runs(empty):
    import duckdb
    empty.mkdir(parents=True)
    duckdb.connect(str(empty / "lens.duckdb")).close()
    for page in (None, *DATASET_PAGES):
        app = open_page(page)
        assert "no runs yet" in infos(app) or "No runs" in infos(app), page


# --- Token patterns --------------------------------------------------------------------------------------

def test_token_patterns_filters_by_run_class_layer_and_facet(lens):
    app = open_page(PATTERNS)
    assert app.selectbox(key="run_id").value in (IMDB_LTP_RUN, AG_NEWS_RUN)
    app.selectbox(key="run_id").set_value(IMDB_LTP_RUN).run()
    assert titles(app)[:2] == ["Share of words kept after layer 3, by part of speech",   # by default what the
                               "Retention layer by layer, all classes"]                  # classifier read
    assert "Words most often kept to the classifier, per class" in titles(app)
    retention = charts(app)[0]
    assert [bar["name"] for bar in retention["data"]] == ["positive", "negative", "all"]
    expected = store.retention(IMDB_LTP_RUN, "pos", by="all", layer=2, db=lens / "lens.duckdb").set_index("category")
    overall = retention["data"][-1]
    for category, rate in zip(values(overall["y"]), values(overall["x"])):
        assert rate == pytest.approx(expected.loc[category, "rate"])

    app.selectbox(key="run_id").set_value(AG_NEWS_RUN).run()
    app.radio(key="class_by").set_value("predicted").run()
    app.multiselect(key=f"classes_{AG_NEWS_RUN}").set_value(["World", "Business"]).run()
    app.select_slider(key=f"layer_{AG_NEWS_RUN}").set_value(0).run()
    app.radio(key="facet").set_value("stopword").run()
    app.slider(key="top_words").set_value(5).run()
    app.toggle(key="content_only").set_value(False).run()
    assert not app.exception
    assert titles(app)[0] == "Share of words kept after layer 1, by stopword"
    assert [bar["name"] for bar in charts(app)[0]["data"]] == ["Business", "World", "all"]
    words = charts(app)[2]
    assert {bar["name"] for bar in words["data"]} <= {"World", "Business"}
    assert max(len(values(bar["y"])) for bar in words["data"]) <= 5


def test_token_patterns_without_a_class_asks_for_one(lens):
    app = open_page(PATTERNS)
    app.multiselect(key=f"classes_{app.selectbox(key='run_id').value}").set_value([]).run()
    assert not app.exception and "pick a class" in infos(app)


# --- Embeddings ------------------------------------------------------------------------------------------

def test_embeddings_show_both_maps_with_the_retained_tokens_on_hover(lens):
    app = open_page(EMBEDDINGS)
    app.selectbox(key="run_id").set_value(IMDB_LTP_RUN).run()
    assert titles(app) == ["t-SNE of texts, coloured by true class", "UMAP of texts, coloured by true class"]
    points = store.projections(IMDB_LTP_RUN, "example", "umap", db=lens / "lens.duckdb")
    hovers = [row[0] for trace in charts(app)[1]["data"] for row in trace["customdata"]]
    assert len(hovers) == len(points) and all("kept to the classifier" in h for h in hovers)
    assert any(points["retained_text"].iloc[0].split()[0] in h for h in hovers)
    app.radio(key="color_by").set_value("correct").run()
    assert {trace["name"] for trace in charts(app)[0]["data"]} <= {"correct", "wrong"}
    app.radio(key="level").set_value("token").run()
    assert not app.exception and titles(app)[0] == "t-SNE of retained tokens, coloured by correct or not"


# --- Domain keywords -------------------------------------------------------------------------------------

def test_domain_keywords_table_sources_and_custom_words(lens):
    app = open_page(KEYWORDS)
    app.selectbox(key="run_id").set_value(IMDB_LTP_RUN).run()
    study = app.dataframe[0].value
    stored = store.keyword_table(IMDB_LTP_RUN, "study", db=lens / "lens.duckdb")
    assert sorted(study["keyword"]) == sorted(stored["keyword"])
    assert {"L1 %", "L4 %", "final %", "acc kept %", "acc dropped %"} <= set(study.columns)
    assert app.get("download_button")
    app.multiselect(key=f"keyword_classes_{IMDB_LTP_RUN}").set_value(["positive"]).run()
    assert set(app.dataframe[0].value["class"]) == {"positive"}
    app.radio(key="keyword_source").set_value("discovered").run()
    assert set(app.dataframe[0].value["source"]) == {"discovered"}
    app.text_input(key="custom_keywords").input("Great, nonexistent  <b>bold</b>").run()
    custom = app.dataframe[1].value.set_index("keyword")
    assert list(custom.index) == ["<b>bold</b>", "great", "nonexistent"]
    assert custom.loc["nonexistent", "occurrences"] == 0 and custom.loc["great", "occurrences"] > 0
    assert len(app.get("download_button")) == 2
    pasted = " ".join(f"word{i}" for i in range(400))                  # a long paste is used, and cut aloud
    app.text_input(key="custom_keywords").input(pasted).run()
    assert any("400 different words" in warning.value for warning in app.warning)
    assert len(app.dataframe[1].value) == MAX_KEYWORDS


# --- Accuracy vs speed -----------------------------------------------------------------------------------

def test_accuracy_vs_speed_plots_every_setting_with_the_pareto_front(lens):
    app = open_page(SPEED)
    app.selectbox(key="bench_dataset").set_value("imdb").run()
    assert titles(app) == ["Accuracy against measured throughput", "Accuracy against analytic FLOPs",
                           "Mean tokens alive on entry to each layer", "Learned per-layer values"]
    assert "did not store every example's prediction and length" in infos(app), "no accuracy by length"
    throughput = charts(app)[0]
    dots = [trace for trace in throughput["data"] if trace["mode"] == "markers+text"]
    settings = [point[3] for trace in dots for point in trace["customdata"]]          # every setting on hover
    assert sorted(settings) == sorted(["unpruned", "topk-0.5", "topk-0.3", "ltp-x1.0", "ltp-x2.0", "ts_dtp"])
    assert "unpruned" in [name for trace in dots for name in trace["text"]], "the reference is named on the chart"
    front = next(trace for trace in throughput["data"] if trace["name"] == "Pareto front")
    assert len(values(front["x"])) >= 2
    table = app.dataframe[0].value.set_index("setting")
    assert len(table) == 6 and table.loc["unpruned", "versus"] == ""
    expected = 100 * (table.loc["topk-0.5", "accuracy"] - table.loc["unpruned", "accuracy"])
    assert table.loc["topk-0.5", "versus"] == f"{expected:+.1f}", "points against unpruned; no predictions, no interval"
    app.radio(key="bench_metric").set_value("macro_f1").run()
    app.selectbox(key="bench_dataset").set_value("ag_news").run()
    assert not app.exception and titles(app)[0] == "Macro-F1 against measured throughput"


def test_accuracy_vs_speed_against_the_strongest_unpruned_path_with_accuracy_by_length(empty):
    """A sweep with ids and lengths, ltp-x0 and the transformers reference (made up: tests/test_dataset_views.py)."""
    sweep = honest_sweep()
    store.write_benchmark({"bench_id": "imdb-honest", "dataset": "imdb", "profile": "tiny",
                           "labels": sweep["labels"].iloc[0], "lengths": sweep["lengths"].iloc[0],
                           "config": sweep["config"].iloc[0]},
                          sweep.drop(columns=["bench_id", "dataset", "profile", "labels", "lengths", "config"]),
                          empty / "lens.duckdb")
    app = open_page(SPEED)
    captions = " ".join(caption.value for caption in app.caption)
    assert "Speed-ups are against `control`, the equally trained unpruned model on the strongest unpruned path" \
        in captions and "length-sorted batches of 32, 0.2% of the timed tokens being padding" in captions
    assert titles(app)[-1] == "Accuracy by text length"
    throughput = charts(app)[0]
    reference = [trace for trace in throughput["data"] if trace["name"] == "transformers (reference only)"]
    assert len(reference) == 1 and reference[0]["text"] == ["transformers"]
    lengths = app.dataframe[0].value.set_index("setting")
    assert list(lengths.columns) == ["< 128 (n = 16)", "128–256 (n = 24)", "256–400 (n = 0)", "≥ 400 (n = 0)"]
    assert lengths.loc["control", "< 128 (n = 16)"] == "0.750" and lengths.loc["ltp-x0", "≥ 400 (n = 0)"] == "empty"
    table = app.dataframe[1].value.set_index("setting")
    assert table.loc["ltp-x1.0", "speedup_b32"] == pytest.approx(1.5), "against the control, not as stored"
    assert table.loc["control", "role"] == "speed-up reference"
    assert table.loc["transformers", "role"].startswith("reference only")
    assert table.loc["ltp-x0", "role"].startswith("nothing pruned")


# --- Compare ---------------------------------------------------------------------------------------------

def test_compare_two_runs_side_by_side(lens):
    app = open_page(COMPARE)
    assert {app.selectbox(key="run_a").value, app.selectbox(key="run_b").value} == {IMDB_LTP_RUN, AG_NEWS_RUN}
    assert [m.label for m in app.metric] == ["Accuracy", "Macro-F1", "Tokens read"] * 2
    assert titles(app) == ["Share of tokens alive after each layer",
                           "Share of words reaching the classifier, by part of speech"]
    assert len(app.dataframe) == 2                                   # different datasets: each run's keywords
    app.selectbox(key="run_b").set_value("imdb-tiny-baseline-test").run()
    assert "pipelines.analyze --run imdb-tiny-baseline-test" in infos(app)
    assert len(charts(app)[0]["data"]) == 2


def test_compare_methods_on_one_text(lens):
    app = open_page(COMPARE)
    app.segmented_control(key="compare_view").set_value("text").run()
    assert [m.label for m in app.metric] == ["LTP", "Top-k", "TS-DTP"]
    body = "".join(element.proto.body for element in app.html)
    assert body.count('class="tpl-view"') == 3
    assert titles(app) == ["Overlap of the kept tokens (Jaccard), layer by layer"]
    assert len(charts(app)[0]["data"]) == 3                          # three pairs
    app.text_area(key="compare_text").input("the movie was great , i love the story and the music .").run()
    app.slider(key="compare_topk_keep_ratio").set_value(0.5).run()
    assert app.metric[1].delta == "15 → 8 tokens read"            # alive on entry to the last layer: 15, 12, 10, 8
    app.text_area(key="compare_text").input("  ").run()
    assert not app.exception and "Type or paste" in infos(app) and not app.metric


def test_compare_methods_over_a_dataset_notes_missing_methods(lens):
    app = open_page(COMPARE)
    app.segmented_control(key="compare_view").set_value("dataset").run()
    app.selectbox(key="compare_dataset").set_value("imdb").run()
    names = {trace["name"] for trace in charts(app)[0]["data"]}
    assert {"LTP", "Top-k", "TS-DTP", "No pruning"} <= names and "TS-DTP" not in infos(app)
    app.selectbox(key="compare_dataset").set_value("ag_news").run()
    assert "TS-DTP" not in {trace["name"] for trace in charts(app)[0]["data"]}
    assert "No stored benchmark rows for TS-DTP" in infos(app)


def test_compare_over_a_dataset_shows_the_stored_faithfulness_or_the_command_that_builds_it(lens):
    app = open_page(COMPARE)
    app.segmented_control(key="compare_view").set_value("dataset").run()
    app.selectbox(key="compare_dataset").set_value("imdb").run()
    assert "Faithfulness to the unpruned model" in [header.value for header in app.subheader]
    table = next(frame.value for frame in app.dataframe if "agrees %" in frame.value.columns)
    stored = faithfulness_summary("imdb", db=lens / "lens.duckdb")
    assert list(table["model"]) == ["imdb-tiny/ltp_hard", "imdb-tiny/ts_dtp"] and list(table["method"]) == [
        "LTP", "TS-DTP"]
    assert table["agrees %"].tolist() == pytest.approx((100 * stored["agreement"]).round(1).tolist())
    assert table["sufficiency"].tolist() == pytest.approx(stored["sufficiency"].round(3).tolist())
    by_class = faithfulness_by_class("imdb", db=lens / "lens.duckdb")
    first = by_class[by_class["stage"] == "ltp_hard"]
    assert table["flips by true class"][0] == ", ".join(f"{name} {100 * rate:.1f}%" for name, rate in
                                                      zip(first["class_name"], first["flip_rate"]))
    app.selectbox(key="compare_dataset").set_value("ag_news").run()
    assert not app.exception and ("No faithfulness figures for ag_news yet: run `python -m pipelines.faithfulness "
                                  "--dataset ag_news --run ag_news-tiny`") in infos(app)


# --- Live text with a TS-DTP model -----------------------------------------------------------------------

def test_live_text_offers_the_ts_dtp_models_own_offset_shift(lens):
    app = open_page(LIVE)
    app.slider(key="text_own_adjustment").set_value(2.0).run()         # the LTP model's threshold scale
    app.selectbox(key="model_key").set_value("imdb-tiny/ts_dtp").run()
    assert app.radio(key="method_kind").value == "own"
    assert any("TS-DTP" in caption.value for caption in app.caption)
    assert app.slider(key="text_own_adjustment").label.startswith("Offset shift")
    assert app.slider(key="text_own_adjustment").value == 0.0           # another model's setting starts over
    before = int(app.metric[3].value.split("→")[1])
    app.slider(key="text_own_adjustment").set_value(1.5).run()
    assert int(app.metric[3].value.split("→")[1]) <= before
    body = "".join(element.proto.body for element in app.html)
    assert not app.exception and "vs threshold" in body
    assert any("belong to this text" in caption.value for caption in app.caption)


def test_embeddings_show_one_stored_text_layer_by_layer(lens):
    app = open_page(EMBEDDINGS)
    app.selectbox(key="run_id").set_value(IMDB_LTP_RUN).run()
    ids = app.selectbox(key=f"example_{IMDB_LTP_RUN}").options
    app.selectbox(key=f"example_{IMDB_LTP_RUN}").set_value(int(ids[-1].split(" ")[0][1:])).run()
    body = "".join(element.proto.body for element in app.html)
    assert not app.exception and body.count('class="tpl-row"') == 4 and "vs threshold" in body


@pytest.mark.parametrize("run_id", (IMDB_LTP_RUN, "imdb-tiny-ts_dtp-test", "imdb-tiny-baseline-test"))
def test_a_stored_example_comes_back_as_the_models_own_trace(lens, run_id):
    db = lens / "lens.duckdb"
    info = store.run_info(run_id, db)
    data = load_dataset("imdb", "test", str(lens.parent / "data"))
    classifier = load_text_classifier(info["model_path"])
    for example_id in (0, 7):
        example = store.examples(run_id, limit=1, offset=example_id, db=db).iloc[0]
        stored = trace_from_store(info, example, store.example_tokens(run_id, example_id, db))
        live = classify_live(classifier, classifier.method, data.texts[example_id], max_length=32).trace
        assert stored.tokens == live.tokens and stored.offsets == live.offsets and stored.word_ids == live.word_ids
        np.testing.assert_array_equal(stored.kept, live.kept)
        np.testing.assert_allclose(stored.scores, live.scores, rtol=1e-5, equal_nan=True)
        assert [t is None for t in stored.thresholds] == [t is None for t in live.thresholds]
        assert [t for t in stored.thresholds if t is not None] == pytest.approx(
            [t for t in live.thresholds if t is not None])
        assert stored.prediction == live.prediction and stored.probability == pytest.approx(live.probability)
