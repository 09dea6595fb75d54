"""Comparing what different pruning methods keep for the same input."""
from __future__ import annotations

import numpy as np

from pruning_core.trace import ExampleTrace


def layer_jaccard(first: ExampleTrace, second: ExampleTrace) -> list[float]:
    """Per layer, |kept by both| / |kept by either| for two traces of the same tokens."""
    if first.tokens != second.tokens:
        raise ValueError("Jaccard overlap needs two traces of the same tokenized text.")
    layers = min(first.num_layers, second.num_layers)
    both = (first.kept[:layers] & second.kept[:layers]).sum(axis=1)
    either = (first.kept[:layers] | second.kept[:layers]).sum(axis=1)
    return (both / np.maximum(either, 1)).tolist()


def pairwise_jaccard(traces: dict[str, ExampleTrace]) -> dict[tuple[str, str], list[float]]:
    """layer_jaccard for every pair of named traces (e.g. {"ltp": ..., "topk": ..., "ts_dtp": ...})."""
    names = list(traces)
    return {(a, b): layer_jaccard(traces[a], traces[b]) for i, a in enumerate(names) for b in names[i + 1:]}
