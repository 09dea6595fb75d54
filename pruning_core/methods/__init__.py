"""Pruning methods, one module each, behind `PruningMethod.select(LayerState) -> Selection`."""
from __future__ import annotations

from .base import LayerState, PruningMethod, Selection, attention_received, cls_attention
from .ltp import LearnedTokenPruning
from .none import NoPruning
from .topk import TopK, schedule_counts, schedule_keep_ratio

METHODS: dict[str, type[PruningMethod]] = {
    NoPruning.name: NoPruning,
    TopK.name: TopK,
    LearnedTokenPruning.name: LearnedTokenPruning,
}


def build_method(name: str, **config) -> PruningMethod:
    """Make a method by name, e.g. build_method("topk", keep_ratios=[1, 1, .5, .5])."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(f"Unknown pruning method {name!r}; available: {', '.join(METHODS)}.") from None
    return cls(**config)


__all__ = ["METHODS", "LayerState", "LearnedTokenPruning", "NoPruning", "PruningMethod", "Selection", "TopK",
           "attention_received", "build_method", "cls_attention", "schedule_counts", "schedule_keep_ratio"]
