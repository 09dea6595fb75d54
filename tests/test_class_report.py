"""The Class report page (views/10_Class_report.py): a traced run's per-class report and confusion matrix, the texts
of a chosen cell (by a click on the matrix or by the menus), and a clear message for runs without the tables.

Two runs share a tiny database: one traced by the real pipeline (a tiny AG News model on made-up data), and one
written through the trace pipeline's own writer from hand-made traces whose labels, predictions and probabilities
are fixed, so every cell's texts are known."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest
import torch

from app_data import save_model
from dashboard import class_report
from dashboard.figures import confusion
from dashboard.findings_ui import plain
from dashboard.navigation import PAGES
from lens_helpers import open_page, use_artifacts, word_trace
from pipeline_data import make_data_dir
from pipelines import trace
from pipelines.trace_store import TracedRun
from pruning_core import storage as store
from pruning_core.methods import LearnedTokenPruning

PAGE = "views/10_Class_report.py"
TRACED_RUN, HAND_RUN = "ag_news-tiny-ltp_hard-test", "hand-made-test"
NAMES = ["<b>neg</b>", "pos*", "neutral"]        # markup in names and texts must show as written; no neutral text
# (label, prediction, probability of the prediction, text), example ids 0..5
ROWS = [(0, 0, 0.90, "fine and plain"), (0, 1, 0.60, "a *starred* <i>review</i> [link](x)"),
        (0, 1, 0.80, "second mistake here"), (1, 1, 0.70, "good one"), (1, 0, 0.55, "wrongly negative"),
        (1, 1, 0.95, "very good one")]


def hand_made_run(db: Path) -> None:
    """ROWS stored as a run by the trace pipeline's writer (it computes and stores the metrics and the matrix)."""
    traces = []
    for label, prediction, probability, text in ROWS:
        words = text.split()
        probabilities = [(1 - probability) / 2] * len(NAMES)
        probabilities[prediction] = probability
        traces.append(replace(word_trace(words, [[True] * len(words)] * 2), probabilities=probabilities, label=label,
                              label_names=NAMES))
    traced = TracedRun(HAND_RUN)
    traced.add(traces, first_example_id=0)
    traced.write({"run_id": HAND_RUN, "dataset": "imdb", "split": "test", "model_path": "/models/hand/made",
                  "training_run": "hand", "stage": "made", "profile": "tiny", "method": "ltp", "method_config": "{}",
                  "config": "{}", "label_names": NAMES, "num_layers": 2}, NAMES, db)


@pytest.fixture(scope="module")
def lens_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("class_report")
    artifacts = root / "artifacts"
    folder = save_model(artifacts, "ag_news-tiny/ltp_hard", "ag_news", LearnedTokenPruning(4, [0.02, 0.05, 0.08, 0.1]))
    trace.run(folder, db=artifacts / "lens.duckdb", data_dir=str(make_data_dir(root / "data", train=8, test=16)))
    hand_made_run(artifacts / "lens.duckdb")
    return artifacts


@pytest.fixture
def lens(lens_root, monkeypatch):
    threads = torch.get_num_threads()     # the app sets torch's process-wide thread count
    yield use_artifacts(monkeypatch, lens_root)
    torch.set_num_threads(threads)


def decoded(data: list | dict) -> np.ndarray:
    """A Plotly JSON array: a plain list, or {"dtype", "bdata", "shape"} (base64) for numpy arrays."""
    if isinstance(data, dict):
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        return array.reshape([int(n) for n in str(data.get("shape", len(array))).split(",")])
    return np.asarray(data)


def matrix_chart(app) -> tuple[dict, dict]:
    """The confusion matrix's heatmap and cell traces."""
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert len(charts) == 1 and charts[0]["layout"]["title"]["text"] == "Confusion matrix"
    heatmap, cells = charts[0]["data"]
    return heatmap, cells


def listed_ids(app) -> list[int]:
    return app.dataframe[1].value["example"].tolist()


def expected_ids(true_index: int, predicted_index: int) -> list[int]:
    """The cell's example ids, most confident first (as the page lists them)."""
    cell = [(-probability, example) for example, (label, prediction, probability, _) in enumerate(ROWS)
            if (label, prediction) == (true_index, predicted_index)]
    return [example for _, example in sorted(cell)]


def choose(app, true_index: int, predicted_index: int):
    app.selectbox(key=f"cell_true_{HAND_RUN}").set_value(true_index)
    return app.selectbox(key=f"cell_predicted_{HAND_RUN}").set_value(predicted_index).run()


def test_the_page_shows_a_traced_runs_per_class_report_and_matrix(lens):
    assert PAGE in [page.file for page in PAGES]                       # in the menu, and linked from Home
    app = open_page(PAGE)
    app.selectbox(key="run_id").set_value(TRACED_RUN).run()
    assert not app.exception
    stored = store.run_metrics(TRACED_RUN, lens / "lens.duckdb")
    per_class, matrix = stored["per_class"], stored["confusion"]
    report = app.dataframe[0].value.set_index("class")
    assert list(report.index) == ["World", "Sports", "Business", "Sci/Tech", "macro average", "weighted average"]
    for row in per_class.itertuples():
        assert report.loc[row.label, ["precision", "recall", "F1"]].tolist() == pytest.approx(
            [row.precision, row.recall, row.f1])
        assert report.loc[row.label, "support"] == row.support
    assert report.loc["macro average", "F1"] == pytest.approx(stored["summary"]["macro_f1"])
    weights = per_class["support"] / per_class["support"].sum()
    assert report.loc["weighted average", "recall"] == pytest.approx((weights * per_class["recall"]).sum())
    assert report.loc["weighted average", "support"] == 16

    heatmap, cells = matrix_chart(app)
    counts = matrix.to_numpy()
    assert decoded(heatmap["z"]) == pytest.approx(counts / counts.sum(axis=1, keepdims=True))
    assert counts.sum() == 16
    assert [[text.split("<br>")[0] for text in row] for row in heatmap["text"]] == counts.astype(str).tolist()
    assert decoded(cells["customdata"]).tolist() == [[t, p] for t in range(4) for p in range(4)]


def test_choosing_a_cell_lists_exactly_its_texts_as_written(lens):
    app = open_page(PAGE)
    app.selectbox(key="run_id").set_value(HAND_RUN).run()
    assert listed_ids(app) == expected_ids(0, 1) == [2, 1]          # to start: the most frequent mistake
    listed = app.dataframe[1].value.set_index("example")
    assert listed.loc[1, "text"] == ROWS[1][3]                      # markup shown as written, not rendered
    assert listed.loc[1, ["true class", "predicted class"]].tolist() == ["<b>neg</b>", "pos*"]
    assert listed["probability"].tolist() == pytest.approx([0.80, 0.60])
    assert f"2 texts of true class **{plain('<b>neg</b>')}** predicted as **{plain('pos*')}**" in app.markdown[0].value
    for true_index, predicted_index in ((1, 1), (1, 0), (0, 0)):
        choose(app, true_index, predicted_index)
        assert not app.exception
        assert listed_ids(app) == expected_ids(true_index, predicted_index), (true_index, predicted_index)
    choose(app, 2, 0)
    assert not app.exception and "No text of true class" in app.info[0].value and len(app.dataframe) == 1


def test_a_click_on_a_cell_chooses_it_and_the_menus_stay_free(lens, monkeypatch):
    clicked = {"cell": (1, 0)}
    monkeypatch.setattr(confusion, "clicked_cell", lambda event: clicked["cell"])   # what the chart reports
    app = open_page(PAGE)
    app.selectbox(key="run_id").set_value(HAND_RUN).run()
    assert listed_ids(app) == expected_ids(1, 0) == [4]
    assert app.selectbox(key=f"cell_true_{HAND_RUN}").value == 1
    choose(app, 1, 1)                                   # the chart still reports the same click: the menus win
    assert listed_ids(app) == expected_ids(1, 1) == [5, 3]
    clicked["cell"] = (0, 0)                            # a new click
    app.run()
    assert listed_ids(app) == [0]


def test_the_matrix_cells_report_their_true_and_predicted_class():
    labelled = pd.DataFrame([[3, 1], [0, 2]], index=["a", "<b>"], columns=["a", "<b>"])
    heatmap, cells = confusion.confusion_figure(labelled).data
    assert cells.customdata.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert [list(row) for row in heatmap.text] == [["3<br>75%", "1<br>25%"], ["0<br>0%", "2<br>100%"]]
    assert list(cells.y) == ["a", "a", "&lt;b&gt;", "&lt;b&gt;"]      # names escaped for Plotly's labels
    point = {"curve_number": 1, "point_index": 2, "x": "a", "y": "&lt;b&gt;", "customdata": [1, 0]}
    assert confusion.clicked_cell(SimpleNamespace(selection=SimpleNamespace(points=[point]))) == (1, 0)
    assert confusion.clicked_cell(SimpleNamespace(selection=SimpleNamespace(points=[]))) is None
    assert class_report.commonest_confusion(labelled) == (0, 1)
    assert class_report.commonest_confusion(pd.DataFrame([[3, 0], [0, 2]])) == (0, 0)   # no mistakes: fullest


def test_a_run_without_the_tables_gets_a_clear_message(tmp_path, monkeypatch):
    artifacts = use_artifacts(monkeypatch, tmp_path / "artifacts")
    artifacts.mkdir()
    hand_made_run(artifacts / "lens.duckdb")
    with duckdb.connect(str(artifacts / "lens.duckdb")) as con:     # as a run written without them
        con.execute("DELETE FROM class_metrics")
        con.execute("DELETE FROM confusion")
    app = open_page(PAGE)
    said = " ".join(info.value for info in app.info)
    assert "has no stored per-class report or confusion matrix" in said
    assert "python -m pipelines.trace --model /models/hand/made" in said
    assert not app.get("plotly_chart") and not app.dataframe and not app.error


def test_an_empty_artifacts_folder_says_what_to_run(tmp_path, monkeypatch):
    use_artifacts(monkeypatch, tmp_path / "artifacts")
    app = open_page(PAGE)
    assert "pipelines.demo" in " ".join(info.value for info in app.info) and not app.get("plotly_chart")


def test_cell_examples_reads_one_cell_most_confident_first_and_refuses_bad_arguments(lens):
    db = lens / "lens.duckdb"
    rows = store.cell_examples(HAND_RUN, 1, 1, db=db)
    assert rows["example_id"].tolist() == [5, 3] and rows["probability"].tolist() == pytest.approx([0.95, 0.70])
    assert rows["text"].tolist() == ["very good one", "good one"]
    assert store.cell_examples(HAND_RUN, 0, 1, limit=1, db=db)["example_id"].tolist() == [2]
    assert store.cell_examples(HAND_RUN, 2, 2, db=db).empty
    for arguments, named in (((3, 0), "true_index"), ((0, -1), "predicted_index"), ((0, True), "predicted_index")):
        with pytest.raises(ValueError, match=named):
            store.cell_examples(HAND_RUN, *arguments, db=db)
    with pytest.raises(ValueError, match="limit"):
        store.cell_examples(HAND_RUN, 0, 0, limit=1.5, db=db)
    with pytest.raises(store.RunNotFound):
        store.cell_examples("no-such-run", 0, 0, db=db)
