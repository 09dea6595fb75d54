from __future__ import annotations

import numpy as np
import pytest

from dashboard.compare import layer_jaccard, pairwise_jaccard
from pruning_core.trace import ExampleTrace


def trace_with(kept: list[list[bool]], tokens=("[CLS]", "a", "b", "c", "[SEP]")) -> ExampleTrace:
    kept = np.array(kept)
    scores = np.where(kept, 0.5, np.nan).astype(np.float32)
    return ExampleTrace(list(tokens), scores, kept, [None] * len(kept), [0.4, 0.6], ["neg", "pos"])


def test_layer_jaccard_counts_shared_survivors_per_layer():
    first = trace_with([[1, 1, 1, 0, 1], [1, 1, 0, 0, 0]])
    second = trace_with([[1, 1, 0, 1, 1], [1, 1, 0, 0, 0]])
    assert layer_jaccard(first, second) == pytest.approx([3 / 5, 1.0])


def test_pairwise_jaccard_names_every_pair_once():
    traces = {name: trace_with([[1, 1, 1, 1, 1]]) for name in ("ltp", "topk", "ts_dtp")}
    assert set(pairwise_jaccard(traces)) == {("ltp", "topk"), ("ltp", "ts_dtp"), ("topk", "ts_dtp")}


def test_different_texts_are_refused():
    with pytest.raises(ValueError, match="same tokenized text"):
        layer_jaccard(trace_with([[1] * 5]), trace_with([[1] * 4], tokens=("[CLS]", "x", "y", "[SEP]")))
