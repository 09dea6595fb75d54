"""A tiny but complete artifacts folder for the dataset pages: saved models, traced runs, analyses, benchmarks.

Built with the real pipelines (trace, analyze) on tiny models and made-up data (tests/pipeline_data.py),
without training and without spaCy: a fixed-tag annotator stands in for it, and UMAP (whose first fit
JIT-compiles for ~12 s) is replaced by a PCA projection. Benchmark rows are written through the store's
own writer with made-up but plausible figures, TS-DTP included for IMDb and left out for AG News; the IMDb
models' faithfulness comes from the real pipeline (none for AG News).
`scripts/with-env .venv/bin/python tests/app_data.py FOLDER` builds one to browse with
`LENS_ARTIFACTS=FOLDER/artifacts make run`.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from conftest import make_bert, make_tokenizer  # noqa: E402
from lens_helpers import use_artifacts  # noqa: E402
from pipeline_data import make_data_dir, tiny_profile  # noqa: E402
from pipelines import analyze, faithfulness, trace  # noqa: E402
from pruning_core import storage as store  # noqa: E402
from pruning_core.analysis.linguistics import Annotation  # noqa: E402
from pruning_core.methods import LearnedTokenPruning, NoPruning, PruningMethod, build_method  # noqa: E402
from pruning_core.text import PrunedTextClassifier, save_pruned  # noqa: E402

LABELS = {"imdb": ["negative", "positive"], "ag_news": ["World", "Sports", "Business", "Sci/Tech"]}
IMDB_LTP_RUN, IMDB_BASELINE_RUN = "imdb-tiny-ltp_hard-test", "imdb-tiny-baseline-test"
IMDB_TS_DTP_RUN, AG_NEWS_RUN = "imdb-tiny-ts_dtp-test", "ag_news-tiny-ltp_hard-test"
ANALYSED_RUNS = (IMDB_LTP_RUN, AG_NEWS_RUN)

_TAGS = {"the": "DET", "a": "DET", "this": "DET", "it": "PRON", "is": "AUX", "was": "AUX", "and": "CCONJ",
         "very": "ADV", "really": "ADV", "of": "ADP", "to": "ADP", "in": "ADP", ".": "PUNCT", "love": "VERB",
         "win": "VERB", "waste": "NOUN"}
_ADJECTIVES = {"bad", "awful", "worst", "boring", "terrible", "great", "amazing", "excellent", "best", "funny"}
_ENTITIES = {"iraq": "GPE", "google": "ORG", "linux": "PRODUCT"}
_STOP = {"the", "a", "this", "it", "is", "was", "and", "very", "really", "of", "to", "in"}


def fake_annotator(texts: list[str]):
    """Whitespace words with fixed universal POS tags, so the fixture needs no spaCy model."""
    for text in texts:
        matches = list(re.finditer(r"\S+", text))
        words = [m.group().lower() for m in matches]
        yield Annotation(np.array([m.start() for m in matches], dtype=np.int64),
                         np.array([m.end() for m in matches], dtype=np.int64), words,
                         [_TAGS.get(w, "ADJ" if w in _ADJECTIVES else "NOUN") for w in words],
                         [_ENTITIES.get(w, "none") for w in words], [w in _STOP for w in words],
                         [w == "." for w in words])


def pca_project(vectors: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """Stands in for t-SNE/UMAP: the first two principal components (plus a tilt so the two differ)."""
    centred = vectors - vectors.mean(axis=0)
    if len(centred) < 2:
        return np.zeros((len(centred), 2))
    points = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    return points if method == "tsne" else points @ np.array([[0.8, -0.6], [0.6, 0.8]])


def save_model(artifacts: Path, name: str, dataset: str, method: PruningMethod, seed: int = 0) -> Path:
    labels = LABELS[dataset]
    model = make_bert(num_layers=4, num_labels=len(labels), seed=seed)
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {label: index for index, label in enumerate(labels)}
    folder = save_pruned(PrunedTextClassifier(model, make_tokenizer(), method), artifacts / "models" / name)
    (folder / "metrics.json").write_text(json.dumps({"dataset": dataset, "label_names": labels, "max_length": 32,
                                                     "stage": folder.name, "profile": "tiny"}))
    return folder


def benchmark_rows(dataset: str, with_ts_dtp: bool) -> pd.DataFrame:
    """Plausible sweep rows: unpruned, top-k, LTP at two scales and (optionally) TS-DTP."""
    rows = [("unpruned", "none", 0.90, 1.00, [18.0] * 4, None),
            ("topk-0.5", "topk", 0.86, 1.55, [18.0, 9.0, 9.0, 9.0], None),
            ("topk-0.3", "topk", 0.80, 1.95, [18.0, 5.4, 5.4, 5.4], None),
            ("ltp-x1.0", "ltp", 0.89, 1.45, [16.0, 12.0, 9.0, 7.0], [0.02, 0.05, 0.08, 0.1]),
            ("ltp-x2.0", "ltp", 0.85, 1.80, [14.0, 8.0, 5.0, 3.0], [0.04, 0.1, 0.16, 0.2])]
    if with_ts_dtp:
        rows.append(("ts_dtp", "ts_dtp", 0.88, 1.70, [15.0, 10.0, 7.0, 5.0], None))
    frame = pd.DataFrame(rows, columns=["setting", "method", "accuracy", "speedup_b32", "mean_kept", "thresholds"])
    frame["macro_f1"] = frame["accuracy"] - 0.01
    frame["flops"] = [sum(kept) * 1e6 for kept in frame["mean_kept"]]
    frame["throughput_b32"] = 100.0 * frame["speedup_b32"]
    frame["latency_b1_ms"] = 20.0 / frame["speedup_b32"]
    frame["speedup_b1"] = 1 + (frame["speedup_b32"] - 1) * 0.7
    frame["keep_fraction"] = [[k / 18.0 for k in kept] for kept in frame["mean_kept"]]
    frame["method_config"], frame["model_path"], frame["n_examples"] = "{}", "", 24
    return frame


def build_lens(root: Path) -> Path:
    """Models, runs, analyses and benchmarks under root/artifacts (returned); made-up data under root/data."""
    data_dir = str(make_data_dir(root / "data", train=24, test=24))
    artifacts = root / "artifacts"
    db = artifacts / "lens.duckdb"
    ltp = LearnedTokenPruning(4, thresholds=[0.6, 0.8, 1.0, 1.2])
    ts_dtp = build_method("ts_dtp", num_layers=4, hidden_size=32, offsets=[-0.8, -0.4, -0.2, 0.0])
    models = [save_model(artifacts, "imdb-tiny/baseline", "imdb", NoPruning()),
              save_model(artifacts, "imdb-tiny/ltp_hard", "imdb", ltp),
              save_model(artifacts, "imdb-tiny/ts_dtp", "imdb", ts_dtp),
              save_model(artifacts, "ag_news-tiny/ltp_hard", "ag_news",
                         LearnedTokenPruning(4, thresholds=[0.6, 0.8, 1.0, 1.2]), seed=1)]
    for folder in models:
        trace.run(folder, db=db, data_dir=data_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analyze, "project", pca_project)
        for run_id in ANALYSED_RUNS:
            analyze.run(run_id, tiny_profile(), db, data_dir, annotate=fake_annotator, progress=False)
    for dataset, with_ts_dtp in (("imdb", True), ("ag_news", False)):
        store.write_benchmark({"bench_id": f"{dataset}-tiny", "dataset": dataset, "profile": "tiny", "config": "{}"},
                              benchmark_rows(dataset, with_ts_dtp), db)
    faithfulness.run("imdb", "imdb-tiny", ("ltp_hard", "ts_dtp"), db=db, data_dir=data_dir, artifacts=artifacts)
    return artifacts


if __name__ == "__main__":
    print(build_lens(Path(sys.argv[1]).resolve()))


# --- fixtures: the tiny stored runs, built once per test module, read by the dashboard ------------------------

@pytest.fixture(scope="module")
def lens_root(tmp_path_factory) -> Path:
    """The tiny stored runs (build_lens), built once per test module."""
    return build_lens(tmp_path_factory.mktemp("lens"))


@pytest.fixture
def lens(lens_root, monkeypatch):
    """The dashboard pointed at the tiny stored runs."""
    threads = torch.get_num_threads()     # the app sets torch's process-wide thread count
    yield use_artifacts(monkeypatch, lens_root)
    torch.set_num_threads(threads)
