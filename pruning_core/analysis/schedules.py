"""Choosing a fixed top-k schedule: among a few shapes of keep ratios, each set to the same analytic FLOPs, the one
a model classifies best with (on validation texts; the model should be the one the schedule will be trained on).

A schedule keeps the share final ** (((l + 1) / L) ** shape) of the input after layer l (`shaped_keep`): shape 1
falls geometrically, below 1 prunes more in the first layers, above 1 keeps the first layers fuller. For each
shape, `final` is found by bisection so that the texts cost `flops_share` of their unpruned FLOPs (CLS-only last
layer for both, as flops.encoder_flops counts them).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..methods import TopK, shaped_keep
from .flops import encoder_flops, model_dims


@dataclass(frozen=True)
class Candidate:
    shape: float
    final_keep: float
    keep_ratios: list[float]
    flops_share: float       # of the unpruned model's FLOPs over the texts
    accuracy: float          # on the texts given


def schedule_flops_share(keep_ratios: list[float], lengths: list[int], hidden: int, intermediate: int) -> float:
    """Analytic FLOPs of the texts (real lengths `lengths`) under a top-k schedule, as a share of unpruned."""
    method, layers = TopK(keep_ratios=keep_ratios), len(keep_ratios)
    pruned = sum(encoder_flops(n, method.expected_counts(n, layers), hidden, intermediate) for n in lengths)
    full = sum(encoder_flops(n, [n] * layers, hidden, intermediate) for n in lengths)
    return pruned / full


def keep_for_share(flops_share: float, shape: float, lengths: list[int], layers: int, hidden: int,
                   intermediate: int) -> list[float]:
    """The `shape` schedule whose final keep puts the texts at `flops_share` of their unpruned FLOPs (bisection)."""
    if not 0.0 < flops_share < 1.0:
        raise ValueError(f"flops_share must lie in (0, 1), got {flops_share!r}.")
    low, high = 1e-4, 1.0   # log-space bisection on the final keep: the share grows with it
    if schedule_flops_share(shaped_keep(low, layers, shape), lengths, hidden, intermediate) > flops_share + 0.01:
        raise ValueError(f"No schedule of shape {shape:g} costs as little as {flops_share:g} of the unpruned FLOPs "
                         f"in {layers} layers: it keeps its early layers too full.")
    for _ in range(40):
        middle = (low * high) ** 0.5
        share = schedule_flops_share(shaped_keep(middle, layers, shape), lengths, hidden, intermediate)
        low, high = (middle, high) if share < flops_share else (low, middle)
    return shaped_keep(high, layers, shape)


def choose_schedule(classifier, texts: list[str], labels: list[int], flops_share: float,
                    shapes: tuple[float, ...] = (0.5, 1.0, 2.0), max_length: int = 512) -> list[Candidate]:
    """Every shape's schedule at `flops_share` of the unpruned FLOPs, scored on texts; best first. Shapes that
    cannot get that cheap (keeping their early layers too full) are left out."""
    if len(texts) != len(labels):
        raise ValueError(f"Got {len(labels)} labels for {len(texts)} texts.")
    hidden, intermediate = model_dims(classifier.model.config)
    lengths = [len(ids) for ids in classifier.tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    saved, candidates = classifier.method, []
    try:
        for shape in shapes:
            try:
                ratios = keep_for_share(flops_share, shape, lengths, classifier.num_layers, hidden, intermediate)
            except ValueError:
                continue
            classifier.method = TopK(keep_ratios=ratios)
            traces = classifier.trace(texts, max_length=max_length)
            accuracy = float(np.mean([trace.prediction == label for trace, label in zip(traces, labels)]))
            candidates.append(Candidate(shape, ratios[-1], ratios,
                                        schedule_flops_share(ratios, lengths, hidden, intermediate), accuracy))
    finally:
        classifier.method = saved
    if not candidates:
        raise ValueError(f"No shape among {shapes} reaches {flops_share:g} of the unpruned FLOPs.")
    return sorted(candidates, key=lambda candidate: -candidate.accuracy)


def as_records(candidates: list[Candidate]) -> list[dict]:
    return [asdict(candidate) for candidate in candidates]
