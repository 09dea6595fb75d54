"""`ltp`: Learned Token Pruning (Kim et al., KDD'22) with one learnable threshold per layer.

Score = attention a token receives from the text's live tokens, averaged over heads and divided by the
text's real length n (its share of the text's attention, about 1/n on average at every layer, whatever
was removed; padding changes nothing). Hard mode removes every token whose score is below the layer's
threshold theta_l. Soft mode (training) removes nothing: it multiplies the layer output by
m_l = sigmoid((s - theta_l) / T), and masks multiply across layers (a token faded at layer l stays faded,
as a removed token stays removed), with the product also weighing the token as a query and, as log(mask),
as a key in later layers' attention. So when masks are sharp (0 or 1), soft mode computes exactly the
scores and decisions of hard mode. The loss adds lambda * sum_l mean(cumulative mask after layer l).
Every layer may prune, layer 0 too; a layer whose threshold is 0 or less keeps everything and skips scoring.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Adjustment, LayerState, Selection, TrainableMethod, attention_received


class LearnedTokenPruning(TrainableMethod):
    name = "ltp"
    title = "LTP"

    def __init__(self, num_layers: int, thresholds: list[float] | None = None, temperature: float = 1e-3,
                 keep_lambda: float = 0.1, mode: str = "hard"):
        super().__init__(mode)
        initial = torch.zeros(num_layers) if thresholds is None else torch.tensor(thresholds, dtype=torch.float32)
        if initial.numel() != num_layers:
            raise ValueError(f"ltp needs {num_layers} thresholds, got {initial.numel()}.")
        self.thresholds = nn.Parameter(initial)
        self.temperature, self.keep_lambda = float(temperature), float(keep_lambda)

    def prunes_at(self, layer: int) -> bool:
        return float(self.thresholds[layer].detach()) > 0.0   # scores are never negative

    def select(self, state: LayerState) -> Selection:
        scores = attention_received(state, state.n_input)
        theta = self.thresholds[state.index]
        threshold = theta.detach().expand(scores.shape[0])
        if self.is_soft:
            soft = torch.sigmoid((scores - theta) / self.temperature)
            return Selection(scores=scores, keep=state.alive, soft_mask=soft, threshold=threshold)
        return Selection(scores=scores, keep=state.alive & (scores >= theta), threshold=threshold)

    def describe(self) -> str:
        values = ", ".join(f"{value:.3g}" for value in self.thresholds.detach().tolist())
        return (f"LTP ({self.mode} mode): a token is removed once the attention it receives, as a share of the "
                f"text's attention (about 1/n for an average token), falls below the layer's threshold; "
                f"thresholds per layer: {values}.")

    def adjustment(self) -> Adjustment:
        return Adjustment("Threshold scale", 1.0, 0.0, 3.0, 0.05,
                          "Multiplies every learned threshold: higher removes more tokens.", self.scaled)

    def scaled(self, factor: float) -> "LearnedTokenPruning":
        """A hard-mode copy with every threshold multiplied by factor."""
        return LearnedTokenPruning(self.thresholds.numel(), (self.thresholds.detach() * factor).tolist(),
                                   self.temperature, self.keep_lambda, mode="hard")

    def auxiliary_loss(self, keep_fractions: list[Tensor]) -> Tensor | None:
        return self.keep_lambda * torch.stack(keep_fractions).sum() if keep_fractions else None

    def config(self) -> dict:
        return {"num_layers": int(self.thresholds.numel()), "thresholds": self.thresholds.detach().tolist(),
                "temperature": self.temperature, "keep_lambda": self.keep_lambda, "mode": self.mode}
