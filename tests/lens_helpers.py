"""Helpers for the dashboard's tests: tiny saved models in a temporary artifacts folder, hand-made traces."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conftest import make_bert, make_tokenizer
from pruning_core.methods import LearnedTokenPruning, PruningMethod
from pruning_core.text import PrunedTextClassifier, save_pruned
from pruning_core.trace import ExampleTrace

TINY_THRESHOLDS = [0.02, 0.05, 0.08, 0.1]


def save_tiny_model(artifacts: Path, name: str = "tiny/ltp_hard", method: PruningMethod | None = None,
                    metrics: dict | None = None) -> Path:
    """A 4-layer hidden-32 BERT saved as <artifacts>/models/<name>, with LTP thresholds unless told otherwise."""
    method = method or LearnedTokenPruning(4, thresholds=TINY_THRESHOLDS)
    folder = save_pruned(PrunedTextClassifier(make_bert(), make_tokenizer(), method), artifacts / "models" / name)
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def word_trace(words: list[str], kept: list[list[bool]], scores: list[list[float]] | None = None,
               thresholds: list[float | None] | None = None) -> ExampleTrace:
    """A trace over [CLS] + one token per word + [SEP], built by hand: kept is (layers, words)."""
    text = " ".join(words)
    offsets, start = [(0, 0)], 0
    for word in words:
        offsets.append((start, start + len(word)))
        start += len(word) + 1
    offsets.append((0, 0))
    layers = len(kept)
    kept_full = np.array([[True, *row, False] for row in kept])
    if scores is None:
        scores = [[0.1 * (i + 1) for i in range(len(words))] for _ in range(layers)]
    score_full = np.array([[0.5, *row, 0.01] for row in scores], dtype=np.float32)
    for layer in range(1, layers):       # a token gone before a layer has no score there
        score_full[layer, ~kept_full[layer - 1]] = np.nan
    return ExampleTrace(tokens=["[CLS]", *[w.lower() for w in words], "[SEP]"], scores=score_full, kept=kept_full,
                        thresholds=thresholds or [None] * layers, probabilities=[0.3, 0.7],
                        label_names=["negative", "positive"], text=text, offsets=offsets,
                        word_ids=[None, *range(len(words)), None])


APP_ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "Home.py")


def use_artifacts(monkeypatch, root: Path) -> Path:
    """Point the dashboard at this artifacts folder, with nothing cached from another."""
    import streamlit as st
    monkeypatch.setenv("LENS_ARTIFACTS", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    return root


def open_page(page: str | None = None, **query: str):
    """The dashboard headless (Streamlit's AppTest) on `page` ("views/..."; None: Home), opened from a link
    carrying `query`; asserts the page ran without an exception."""
    from streamlit.testing.v1 import AppTest
    app = AppTest.from_file(APP_ENTRY, default_timeout=60)
    if page:
        app.switch_page(page)
    for name, value in query.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, app.exception
    return app
