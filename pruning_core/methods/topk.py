"""`topk`: keep a scheduled number of the highest-scoring tokens at each layer.

Counts come either from explicit per-layer keep ratios (fractions of the real input length) or from
the cascading schedule keep(l) = 1 - r_max * ((l + 1) / L) ** alpha, where layer l keeps
floor(keep(l) * the previous layer's count) of the non-CLS tokens, plus CLS. (Counting without CLS is
what reproduces the vision study's printed counts: 145 -> 143, 137, 125, 106, 81, 54, 29, 12.)
Counts never grow, never drop below one, and CLS is always among the survivors.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import LayerState, PruningMethod, Selection, finite_number, score_by
from .controls import Control


def schedule_keep_ratio(layer: int, num_layers: int, r_max: float, alpha: float) -> float:
    """keep(l) = 1 - r_max * ((l + 1) / L) ** alpha."""
    return 1.0 - r_max * ((layer + 1) / num_layers) ** alpha


def geometric_keep(final_keep: float, num_layers: int) -> list[float]:
    """Share of the input kept after each layer, falling geometrically from layer 0 to final_keep at the last."""
    return shaped_keep(final_keep, num_layers, 1.0)


def shaped_keep(final_keep: float, num_layers: int, shape: float) -> list[float]:
    """Share kept after layer l: final_keep ** (((l + 1) / L) ** shape), falling to final_keep at the last layer.
    shape 1 is geometric; below 1 prunes more in the early layers, above 1 saves the pruning for the late ones."""
    if not 0.0 < final_keep <= 1.0:
        raise ValueError(f"final_keep must lie in (0, 1], got {final_keep!r}.")
    if shape <= 0:
        raise ValueError(f"shape must be positive, got {shape!r}.")
    return [final_keep ** (((layer + 1) / num_layers) ** shape) for layer in range(num_layers)]


def schedule_counts(n_tokens: int, num_layers: int, r_max: float, alpha: float) -> list[int]:
    """Token counts (CLS included) per layer under the cascading schedule (145, 8, 0.6, 2 -> 143, ..., 12)."""
    counts, previous = [], n_tokens
    for layer in range(num_layers):
        previous = 1 + math.floor(schedule_keep_ratio(layer, num_layers, r_max, alpha) * (previous - 1))
        counts.append(previous)
    return counts


class TopK(PruningMethod):
    name = "topk"
    title = "Top-k"

    def __init__(self, keep_ratios: list[float] | None = None, r_max: float | None = None,
                 alpha: float = 1.0, score: str = "cls"):
        super().__init__()
        if (keep_ratios is None) == (r_max is None):
            raise ValueError("topk needs exactly one of keep_ratios (a list, one per layer) or r_max.")
        if keep_ratios is not None:
            if isinstance(keep_ratios, (str, bytes)) or not hasattr(keep_ratios, "__len__") or not len(keep_ratios):
                raise ValueError(f"keep_ratios must be a list of shares in (0, 1], one per layer, got {keep_ratios!r}.")
            keep_ratios = [finite_number(f"keep_ratios[{i}]", r, 0.0, 1.0, low_open=True)
                           for i, r in enumerate(keep_ratios)]
        else:
            r_max = finite_number("r_max", r_max, 0.0, 1.0, high_open=True)
        alpha = finite_number("alpha", alpha, 0.0, low_open=True)
        self.keep_ratios = keep_ratios
        if score not in ("cls", "received"):
            raise ValueError(f"topk score must be 'cls' or 'received', got {score!r}.")
        self.r_max, self.alpha, self.score = r_max, alpha, score
        self.attention_summary = score

    @classmethod
    def geometric(cls, final_keep: float, num_layers: int, score: str = "cls") -> "TopK":
        """Keep ratios that shrink evenly, layer by layer, to final_keep of the input at the last layer."""
        return cls(keep_ratios=geometric_keep(final_keep, num_layers), score=score)

    @classmethod
    def controls(cls) -> tuple[Control, ...]:
        return (
            Control("schedule", "Schedule", "ratio", choices={"ratio": "Keep ratio", "cascade": "r_max / α"},
                    help="Keep ratio: the tokens shrink evenly to a share of the input at the last layer. r_max / α: "
                         "each layer keeps a share of the previous layer's tokens (the vision study's schedule)."),
            Control("score", "Rank tokens by", "cls",
                    choices={"cls": "CLS attention", "received": "Attention received"},
                    help="CLS attention: how much CLS attends to a token. Attention received: what every token gives "
                         "it, averaged (what LTP uses)."),
            Control("keep_ratio", "Keep ratio at the last layer", 0.3, low=0.05, high=1.0, step=0.05, url="keep",
                    applies_when=("schedule", "ratio"),
                    help="Tokens shrink evenly, layer by layer, to this fraction of the input."),
            Control("r_max", "r_max", 0.6, low=0.0, high=0.95, step=0.05, applies_when=("schedule", "cascade"),
                    help="keep(l) = 1 − r_max · ((l+1)/L)^α of the previous layer's tokens: the last layer removes "
                         "the share r_max."),
            Control("alpha", "α", 2.0, low=0.2, high=4.0, step=0.1, applies_when=("schedule", "cascade"),
                    help="Above 1, early layers keep nearly every token and late ones cut hard; below 1, pruning "
                         "starts early."),
        )

    @classmethod
    def settings_from_controls(cls, values: dict, num_layers: int | None) -> dict:
        if values["schedule"] == "cascade":
            return {"r_max": values["r_max"], "alpha": values["alpha"], "score": values["score"]}
        if num_layers is None:
            raise ValueError("topk's keep-ratio schedule needs num_layers (the model's), got None.")
        return {"keep_ratios": geometric_keep(values["keep_ratio"], num_layers), "score": values["score"]}

    def layers(self) -> int | None:
        return None if self.keep_ratios is None else len(self.keep_ratios)

    def prunes_at(self, layer: int) -> bool:
        return self.keep_ratios is None or layer >= len(self.keep_ratios) or self.keep_ratios[layer] < 1.0

    def describe(self) -> str:
        by = "CLS attention" if self.score == "cls" else "attention received"
        if self.keep_ratios is not None:
            ratios = ", ".join(f"{ratio:.2f}" for ratio in self.keep_ratios)
            return f"Top-k by {by}: keeps these shares of the input tokens after each layer: {ratios}."
        return (f"Top-k by {by}, cascading schedule: layer l keeps 1 − {self.r_max:g}·((l+1)/L)^{self.alpha:g} of "
                f"the previous layer's tokens.")

    def expected_counts(self, num_tokens: int, num_layers: int) -> list[int] | None:
        if self.keep_ratios is None:
            return schedule_counts(num_tokens, num_layers, self.r_max, self.alpha)
        if len(self.keep_ratios) < num_layers:
            return None
        counts, previous = [], num_tokens
        for ratio in self.keep_ratios[:num_layers]:
            previous = max(1, min(previous, math.floor(ratio * num_tokens)))
            counts.append(previous)
        return counts

    def target_counts(self, state: LayerState) -> Tensor:
        """(B,) how many rows each example keeps at this layer."""
        current = state.alive.sum(dim=1)
        if self.keep_ratios is not None:
            if state.index >= len(self.keep_ratios):
                raise ValueError(f"keep_ratios has {len(self.keep_ratios)} entries but the model has "
                                 f"{state.num_layers} layers.")
            wanted = torch.floor(self.keep_ratios[state.index] * state.n_input.double()).long()
        else:
            ratio = schedule_keep_ratio(state.index, state.num_layers, self.r_max, self.alpha)
            wanted = 1 + torch.floor(ratio * (current - 1).double()).long()
        return wanted.clamp(min=1).minimum(current)

    def select(self, state: LayerState) -> Selection:
        scores = score_by(self.score, state)
        ranking = scores.clone() if state.dense else scores.masked_fill(~state.alive, float("-inf"))
        ranking[:, 0] = float("inf")  # CLS first, always kept
        order = ranking.argsort(dim=1, descending=True, stable=True)
        if state.dense and self.keep_ratios is None:
            # Every example keeps the same number of its rows: hand the loop the rows themselves, in order.
            current = order.shape[1]
            ratio = schedule_keep_ratio(state.index, state.num_layers, self.r_max, self.alpha)
            rows = order[:, :min(current, max(1, 1 + math.floor(ratio * (current - 1))))].sort(dim=1).values
            return Selection(scores=scores, keep=torch.zeros_like(state.alive).scatter_(1, rows, True), rows=rows)
        places = torch.arange(order.shape[1], device=order.device) < self.target_counts(state).unsqueeze(1)
        keep = torch.zeros_like(state.alive).scatter_(1, order, places)   # the first `count` of the ranking
        return Selection(scores=scores, keep=keep & state.alive)

    def config(self) -> dict:
        return {"keep_ratios": self.keep_ratios, "r_max": self.r_max, "alpha": self.alpha, "score": self.score}
