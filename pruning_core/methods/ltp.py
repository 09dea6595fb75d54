"""`ltp`: Learned Token Pruning (Kim et al., KDD'22) with one learnable threshold per layer.

Score = attention received, averaged over heads and real queries (padding-invariant). Soft mode
multiplies the layer output by sigmoid((s - theta) / T) and adds lambda * sum_l mean(mask_l) to the
loss; hard mode removes every token whose score is below theta. Every layer may prune, layer 0 too.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import LayerState, Selection, TrainableMethod, attention_received


class LearnedTokenPruning(TrainableMethod):
    name = "ltp"

    def __init__(self, num_layers: int, thresholds: list[float] | None = None, temperature: float = 1e-3,
                 keep_lambda: float = 0.1, mode: str = "hard"):
        super().__init__(mode)
        initial = torch.zeros(num_layers) if thresholds is None else torch.tensor(thresholds, dtype=torch.float32)
        if initial.numel() != num_layers:
            raise ValueError(f"ltp needs {num_layers} thresholds, got {initial.numel()}.")
        self.thresholds = nn.Parameter(initial)
        self.temperature, self.keep_lambda = float(temperature), float(keep_lambda)

    def select(self, state: LayerState) -> Selection:
        scores = attention_received(state.probs, state.alive)
        theta = self.thresholds[state.index]
        threshold = float(theta.detach())
        if self.is_soft:
            soft = torch.sigmoid((scores - theta) / self.temperature)
            return Selection(scores=scores, keep=state.alive, soft_mask=soft, threshold=threshold)
        return Selection(scores=scores, keep=state.alive & (scores >= theta), threshold=threshold)

    def auxiliary_loss(self, keep_fractions: list[Tensor]) -> Tensor | None:
        return self.keep_lambda * torch.stack(keep_fractions).sum() if keep_fractions else None

    def config(self) -> dict:
        return {"num_layers": int(self.thresholds.numel()), "thresholds": self.thresholds.detach().tolist(),
                "temperature": self.temperature, "keep_lambda": self.keep_lambda, "mode": self.mode}
