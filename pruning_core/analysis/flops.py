"""Analytic FLOPs of a BERT-style encoder whose layers run on fewer tokens as pruning removes them.

In our layer loop, layer l's self-attention (Q/K/V projections, the two attention products and the
output projection) runs on the n_in tokens alive before it, and its feed-forward on the n_out tokens
that survive it. The last layer computes only what the head reads, for every model, pruned or not
(pruning_core.loop): keys and values for the n_in tokens alive on entry, then CLS's query, attention row,
output projection and feed-forward. A multiply-add counts as two FLOPs; embeddings, norms and softmax are
left out (they are a few percent at most).
"""
from __future__ import annotations

from typing import Sequence


def layer_flops(n_in: int, n_out: int, hidden: int, intermediate: int, queries: int | None = None) -> float:
    """One layer over n_in tokens whose feed-forward runs on n_out of them; `queries` rows query (all n_in
    by default; 1 in the CLS-only last layer, whose n_out is then 1 too)."""
    queries = n_in if queries is None else queries
    projections = 2 * (2 * n_in + 2 * queries) * hidden * hidden    # K, V on every row; Q and output on the queries
    attention = 2 * 2 * queries * n_in * hidden                       # scores and the weighted sum of values
    feed_forward = 2 * 2 * n_out * hidden * intermediate
    return float(projections + attention + feed_forward)


def encoder_flops(n_tokens: int, keep_counts: Sequence[int], hidden: int, intermediate: int) -> float:
    """FLOPs for one example of n_tokens whose layers keep keep_counts[l] tokens after layer l; the last layer
    (whatever its recorded decision) computes CLS's row over the tokens alive on entry to it."""
    total, alive = 0.0, n_tokens
    for kept in keep_counts[:-1]:
        total += layer_flops(alive, int(kept), hidden, intermediate)
        alive = int(kept)
    return total + layer_flops(alive, 1, hidden, intermediate, queries=1) if keep_counts else total


def model_dims(config) -> tuple[int, int]:
    """(hidden size, feed-forward size) of a transformers config (BERT, RoBERTa, DistilBERT or ViT names)."""
    hidden = getattr(config, "hidden_size", None) or config.dim
    intermediate = getattr(config, "intermediate_size", None) or config.hidden_dim
    return int(hidden), int(intermediate)
