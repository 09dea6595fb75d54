"""`ts_dtp`: task-specific dynamic token pruning.

Per layer, a light learned scorer reads the hidden states through a projection and compares them with a
learned task vector (one per layer for this model's label set), so tokens that matter for the task can
survive even when attention overlooks them. Its score (a softmax over the example's tokens) is blended
with attention received (also summing to one over the tokens):

    s = (1 - beta_l) * attention_received + beta_l * softmax(proj_l(h) . task_l / sqrt(r))

The threshold is dynamic, per example: scores are standardised over the example's own tokens,
z = (s - mean) / std (CLS excluded from the statistics), and a token survives while z >= delta_l,
a learned offset. Soft mode multiplies the layer output by the hard mask 1[z >= delta_l] with the gradient
of sigmoid((z - delta_l) / T) (straight-through, so training sees the keep rate hard mode gives), and the auxiliary
loss lambda * sum_l (keep_l - target_l)^2 pulls the cumulative keep rate toward a target that falls
linearly from 1 to `target_keep` at the last layer. One encoder pass; statistics over real tokens only,
so padding changes nothing. Attention received is divided by the live tokens' count (it sums to 1 over
them, like the scorer's softmax); since soft masks are exactly 0 or 1 in the forward pass, soft mode counts
the same live tokens as hard mode and keeps the same ones (tests/test_soft_hard.py).
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from .base import Adjustment, LayerState, Selection, TrainableMethod, attention_received

OPEN_OFFSET = -1e4   # standard deviations: a cut no token falls below


class TaskSpecificDynamicPruning(TrainableMethod):
    name = "ts_dtp"
    title = "TS-DTP"
    threshold_note = ("TS-DTP's thresholds belong to this text: at each layer, the mean of its tokens' scores plus δ "
                      "standard deviations, so the same model cuts at a different score for every text.")

    def __init__(self, num_layers: int, hidden_size: int, rank: int = 32, target_keep: float = 0.4,
                 aux_lambda: float = 1.0, temperature: float = 0.5, mix: list[float] | None = None,
                 offsets: list[float] | None = None, mode: str = "hard"):
        super().__init__(mode)
        mix = torch.tensor(mix if mix is not None else [0.2] * num_layers, dtype=torch.float32)
        offsets = torch.tensor(offsets if offsets is not None else [-1.5] * num_layers, dtype=torch.float32)
        if mix.numel() != num_layers or offsets.numel() != num_layers:
            raise ValueError(f"ts_dtp needs {num_layers} mixing weights and offsets.")
        self.projections = nn.ModuleList(nn.Linear(hidden_size, rank) for _ in range(num_layers))
        self.task_vectors = nn.Parameter(torch.randn(num_layers, rank) / rank ** 0.5)
        self.mix_logits = nn.Parameter(torch.logit(mix.clamp(1e-4, 1 - 1e-4)))   # beta_l = sigmoid(mix_logit)
        self.offsets = nn.Parameter(offsets)                                       # delta_l, in standard deviations
        self.num_layers, self.hidden_size, self.rank = num_layers, hidden_size, rank
        self.target_keep, self.aux_lambda, self.temperature = float(target_keep), float(aux_lambda), float(temperature)

    def layers(self) -> int:
        return self.num_layers

    def task_scores(self, state: LayerState) -> Tensor:
        """(B, K) the learned scorer's distribution over the example's alive tokens."""
        logits = self.projections[state.index](state.hidden) @ self.task_vectors[state.index] / self.rank ** 0.5
        return logits.masked_fill(~state.alive, float("-inf")).softmax(dim=-1)

    def select(self, state: LayerState) -> Selection:
        mix = torch.sigmoid(self.mix_logits[state.index])
        scores = (1 - mix) * attention_received(state) + mix * self.task_scores(state)
        mean, std = _statistics(scores, state.alive)
        standardised = (scores - mean) / std
        offset = self.offsets[state.index]
        hard = standardised >= offset
        threshold = (mean + offset * std).detach().squeeze(1)   # (B,) this text's cut-off in score units
        if self.is_soft:
            # Straight-through: the forward pass masks exactly the tokens hard mode would remove, so the keep
            # rate the auxiliary loss trains is the one hard mode delivers; gradients flow through the sigmoid.
            soft = torch.sigmoid((standardised - offset) / self.temperature)
            return Selection(scores=scores, keep=state.alive, soft_mask=hard.to(soft.dtype) + soft - soft.detach(),
                             threshold=threshold)
        return Selection(scores=scores, keep=state.alive & hard, threshold=threshold)

    def describe(self) -> str:
        mix = ", ".join(f"{value:.2f}" for value in torch.sigmoid(self.mix_logits.detach()).tolist())
        offsets = ", ".join(f"{value:.2f}" for value in self.offsets.detach().tolist())
        return (f"TS-DTP ({self.mode} mode): a learned task scorer blended with attention received "
                f"(scorer weight per layer: {mix}); a token survives while its score is at least "
                f"mean + δ·std of this text's scores, with offsets δ per layer: {offsets}.")

    def adjustment(self) -> Adjustment:
        return Adjustment("Offset shift (standard deviations)", 0.0, -2.0, 2.0, 0.1,
                          "Added to every learned offset δ: a token survives while its score is at least "
                          "mean + δ·std of this text's scores. Higher removes more tokens.", self.shifted)

    def shifted(self, shift: float) -> "TaskSpecificDynamicPruning":
        """A hard-mode copy with every offset moved by shift (more: fewer tokens survive)."""
        moved = copy.deepcopy(self)
        moved.mode = "hard"
        with torch.no_grad():
            moved.offsets += shift
        return moved

    def cuts(self) -> list[float]:
        return self.offsets.detach().tolist()

    def open_cuts(self) -> None:
        with torch.no_grad():
            self.offsets.fill_(OPEN_OFFSET)

    def cut_values(self, scores: np.ndarray) -> np.ndarray:
        """Standardised over the text's own live non-CLS tokens, as `select` does (population statistics)."""
        return (scores - scores.mean()) / np.sqrt(scores.var() + 1e-12)

    def set_cut(self, layer: int, value: float | None) -> None:
        with torch.no_grad():
            self.offsets[layer] = OPEN_OFFSET if value is None else float(value)

    def target_fractions(self) -> Tensor:
        """Cumulative keep rate wanted after each layer: linear from 1 down to target_keep."""
        steps = torch.arange(1, self.num_layers + 1, dtype=torch.float32) / self.num_layers
        return 1.0 - (1.0 - self.target_keep) * steps

    def auxiliary_loss(self, keep_fractions: list[Tensor]) -> Tensor | None:
        if not keep_fractions:
            return None
        achieved = torch.stack(keep_fractions)
        targets = self.target_fractions()[: len(keep_fractions)].to(achieved)
        return self.aux_lambda * ((achieved - targets) ** 2).sum()

    def config(self) -> dict:
        return {"num_layers": self.num_layers, "hidden_size": self.hidden_size, "rank": self.rank,
                "target_keep": self.target_keep, "aux_lambda": self.aux_lambda, "temperature": self.temperature,
                "mode": self.mode, "offsets": self.offsets.detach().tolist(),
                "mix": torch.sigmoid(self.mix_logits.detach()).tolist()}


def _statistics(scores: Tensor, alive: Tensor) -> tuple[Tensor, Tensor]:
    """(B, 1) mean and standard deviation of each example's scores over its alive non-CLS tokens."""
    counted = alive.clone()
    counted[:, 0] = False
    weight = counted.to(scores.dtype)
    n = weight.sum(dim=1, keepdim=True).clamp(min=1)
    values = scores.masked_fill(~counted, 0.0)
    mean = values.sum(dim=1, keepdim=True) / n
    variance = ((values - mean) ** 2 * weight).sum(dim=1, keepdim=True) / n
    # The epsilon inside the root keeps the gradient finite when one token is left (zero variance).
    return mean, (variance + 1e-12).sqrt()
