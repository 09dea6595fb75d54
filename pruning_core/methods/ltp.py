"""`ltp`: Learned Token Pruning (Kim et al., KDD'22) with one learnable threshold per layer.

Score (`score="content"`, the default): the attention a token receives, summed over the text's live query
tokens and averaged over heads, divided by the mean of that over the live tokens other than CLS. Under uniform
attention every token scores exactly 1 at every layer and every length, and a token scoring 2 receives twice an
average token's attention: one threshold means the same for a 20-, a 60- and a 500-token text. CLS is left out of
the average because it absorbs a share of every query's attention that grows as the text shrinks (after a few
removals in a 20-token review it receives most of it), which would push every other token of a short text under
the bar. `score="relative"` divides by the mean over all live tokens, CLS included (the IMDb `cpu` study of
2026-12-07 was trained with it); `score="share"` is the paper's score: the sum divided by the text's real length
n, a share near 1/n, so a fixed threshold is a bar that rises with length and long texts lose almost everything
(models saved before `score` existed load with it).

Hard mode removes every token whose score is below the layer's threshold theta_l. Soft mode (training) removes
nothing: it multiplies the layer output by m_l = sigmoid((s - theta_l) / T), and masks multiply across layers (a
token faded at layer l stays faded, as a removed token stays removed; a product under loop.FADED, 1e-9, is exactly
0), with the product also weighing the token as a query and, as log(mask), as a key in later layers' attention. So
when masks are sharp (0 or 1), soft mode computes exactly the scores and decisions of hard mode. The loss adds
lambda * sum_l mean(cumulative mask after layer l). Every layer may prune, layer 0 too; a layer whose threshold is
0 or less keeps everything and skips scoring.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Adjustment, LayerState, Selection, TrainableMethod, attention_received, finite_number
from .controls import Control

SCORES = ("content", "relative", "share")
# One threshold for every layer, as a slider offers it: relative scores, an average token scores 1.
UNIFORM_THRESHOLDS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0)


def relative_to_content(state: LayerState) -> Tensor:
    """(B, K): attention received divided by its mean over the live rows other than CLS (row 0), presence-weighted
    (soft mode's cumulative masks; 1/0 in hard mode)."""
    weight = state.presence.clone()
    weight[:, 0] = 0.0
    received = torch.where(weight > 0, state.attention, torch.zeros_like(state.attention))
    mean = (received * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1e-6)   # (B,)
    return state.attention / mean.clamp(min=1e-12).unsqueeze(1)


class LearnedTokenPruning(TrainableMethod):
    name = "ltp"
    title = "LTP"

    def __init__(self, num_layers: int, thresholds: list[float] | None = None, temperature: float = 0.05,
                 keep_lambda: float = 0.1, mode: str = "hard", score: str = "content"):
        super().__init__(mode)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a whole number of layers >= 1, got {num_layers!r}.")
        if thresholds is not None:
            thresholds = [finite_number(f"thresholds[{i}]", t) for i, t in enumerate(thresholds)]
        initial = torch.zeros(num_layers) if thresholds is None else torch.tensor(thresholds, dtype=torch.float32)
        if initial.numel() != num_layers:
            raise ValueError(f"ltp needs {num_layers} thresholds (one per layer), got {initial.numel()}.")
        keep_lambda = finite_number("keep_lambda", keep_lambda, 0.0)
        if score not in SCORES:
            raise ValueError(f"ltp score must be one of {', '.join(SCORES)}, got {score!r}.")
        temperature = finite_number("temperature", temperature, 0.0, low_open=True)
        self.thresholds = nn.Parameter(initial)
        self.temperature, self.keep_lambda, self.score = float(temperature), float(keep_lambda), score

    @staticmethod
    def upgrade_config(config: dict) -> dict:
        """A saved config as this version reads it: saved before `score` existed means the paper's share."""
        return {"score": "share", **config}

    @classmethod
    def controls(cls) -> tuple[Control, ...]:
        return (Control("threshold", "Threshold (every layer)", 0.5, low=0.0, high=max(UNIFORM_THRESHOLDS),
                        stops=UNIFORM_THRESHOLDS,
                        help="Tokens whose attention received is below it are removed. This model has no learned "
                             "thresholds; it is relative: an average token other than CLS scores 1 (2: twice "
                             "the average attention)."),)

    @classmethod
    def settings_from_controls(cls, values: dict, num_layers: int | None) -> dict:
        if num_layers is None:
            raise ValueError("ltp needs num_layers (the model's) to build from its controls, got None.")
        return {"thresholds": [values["threshold"]] * num_layers, "mode": "hard"}

    def layers(self) -> int:
        return int(self.thresholds.numel())

    def prunes_at(self, layer: int) -> bool:
        return float(self.thresholds[layer].detach()) > 0.0   # scores are never negative

    def scores(self, state: LayerState) -> Tensor:
        """(B, K): attention received relative to the average live token's (other than CLS's, or any), or the
        paper's share of the text's attention (1/n)."""
        if self.score == "content":
            return relative_to_content(state)
        return state.attention if self.score == "relative" else attention_received(state, state.n_input)

    def select(self, state: LayerState) -> Selection:
        scores = self.scores(state)
        theta = self.thresholds[state.index]
        threshold = theta.detach().expand(scores.shape[0])
        if self.is_soft:
            soft = torch.sigmoid((scores - theta) / self.temperature)
            return Selection(scores=scores, keep=state.alive, soft_mask=soft, threshold=threshold)
        return Selection(scores=scores, keep=state.alive & (scores >= theta), threshold=threshold)

    def describe(self) -> str:
        values = ", ".join(f"{value:.3g}" for value in self.thresholds.detach().tolist())
        if self.score == "content":
            rule = ("the attention it receives, relative to an average token's other than CLS (1 under uniform "
                    "attention, at any length), falls below the layer's threshold")
        elif self.score == "relative":
            rule = ("the attention it receives, relative to an average token's (1 under uniform attention, at any "
                    "length), falls below the layer's threshold")
        else:
            rule = ("the attention it receives, as a share of the text's attention (about 1/n for an average "
                    "token, so the bar rises with length), falls below the layer's threshold")
        return f"LTP ({self.mode} mode): a token is removed once {rule}; thresholds per layer: {values}."

    def adjustment(self) -> Adjustment:
        return Adjustment("Threshold scale", 1.0, 0.0, 3.0, 0.05,
                          "Multiplies every learned threshold: higher removes more tokens.", self.scaled)

    def scaled(self, factor: float) -> "LearnedTokenPruning":
        """A hard-mode copy with every threshold multiplied by factor."""
        return self.with_thresholds((self.thresholds.detach() * factor).tolist())

    def with_thresholds(self, thresholds: list[float]) -> "LearnedTokenPruning":
        """A hard-mode copy with these thresholds (the calibrated ones, say) in place of the learned ones."""
        return LearnedTokenPruning(self.thresholds.numel(), thresholds, self.temperature, self.keep_lambda,
                                   mode="hard", score=self.score)

    def cuts(self) -> list[float]:
        return self.thresholds.detach().tolist()

    def open_cuts(self) -> None:
        with torch.no_grad():
            self.thresholds.zero_()

    def set_cut(self, layer: int, value: float | None) -> None:
        with torch.no_grad():
            self.thresholds[layer] = 0.0 if value is None else max(float(value), 0.0)

    def auxiliary_loss(self, keep_fractions: list[Tensor]) -> Tensor | None:
        return self.keep_lambda * torch.stack(keep_fractions).sum() if keep_fractions else None

    def config(self) -> dict:
        return {"num_layers": int(self.thresholds.numel()), "thresholds": self.thresholds.detach().tolist(),
                "temperature": self.temperature, "keep_lambda": self.keep_lambda, "mode": self.mode,
                "score": self.score}
