"""Analytic FLOPs of a BERT-style encoder whose layers run on fewer tokens as pruning removes them.

In our layer loop, layer l's self-attention (Q/K/V projections, the two attention products and the
output projection) runs on the n_in tokens alive before it, and its feed-forward on the n_out tokens
that survive it. A multiply-add counts as two FLOPs; embeddings, norms and softmax are left out
(they are a few percent at most).
"""
from __future__ import annotations

from typing import Sequence


def layer_flops(n_in: int, n_out: int, hidden: int, intermediate: int) -> float:
    attention = 2 * 4 * n_in * hidden * hidden + 2 * 2 * n_in * n_in * hidden
    feed_forward = 2 * 2 * n_out * hidden * intermediate
    return float(attention + feed_forward)


def encoder_flops(n_tokens: int, keep_counts: Sequence[int], hidden: int, intermediate: int) -> float:
    """FLOPs for one example of n_tokens whose layers keep keep_counts[l] tokens after layer l."""
    total, alive = 0.0, n_tokens
    for kept in keep_counts:
        total += layer_flops(alive, int(kept), hidden, intermediate)
        alive = int(kept)
    return total


def model_dims(config) -> tuple[int, int]:
    """(hidden size, feed-forward size) of a transformers config (BERT, RoBERTa or DistilBERT names)."""
    hidden = getattr(config, "hidden_size", None) or config.dim
    intermediate = getattr(config, "intermediate_size", None) or config.hidden_dim
    return int(hidden), int(intermediate)
