"""The interface every pruning method implements, and the attention scores they share.

A method sees one layer at a time (`LayerState`) and answers with a `Selection`: a score per row,
which rows survive, and, in soft (training) mode, a differentiable mask instead of a removal.
Shapes: B examples, K rows currently in the padded batch.

Soft and hard mode see the same scores when soft masks are sharp: in soft mode a row's mask (the product
of every earlier layer's mask) weighs it as a query and, as log(mask) on its attention logits, as a key,
so a row masked to 0 takes no part in attention, exactly as if it had been removed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from torch import Tensor, nn

from .controls import Control


@dataclass
class LayerState:
    """What a method may look at when deciding at one layer."""

    index: int          # layer number, 0-based
    attention: Tensor   # (B, K) the summary the method asked for (`attention_summary`): CLS attention, or
                        # attention received summed over query rows (weighted by presence), mean over heads
    alive: Tensor       # (B, K) bool, rows that are real tokens still in play
    hidden: Tensor      # (B, K, D) hidden states after this layer's attention
    n_input: Tensor     # (B,) real (non-padding) length of each example at the input
    num_layers: int
    presence: Tensor    # (B, K) float: in hard mode the input tokens a live row stands for (1, more once merged);
                        # in soft mode the row's cumulative mask
    dense: bool = False  # every row of every example is alive (no padding, hard mode): counts are plain numbers


@dataclass
class Merge:
    """A merging method's rows after its layer: what the loop carries on instead of the attention output."""

    hidden: Tensor   # (B, K, D) every row, the ones that received merged rows replaced by the size-weighted mean
    sizes: Tensor    # (B, K) input tokens each row now stands for (0 for a row merged away, and for padding)
    into: Tensor     # (B, K) long: the row each row merged away joined at this layer; -1 for the rest


@dataclass
class Selection:
    """A method's answer for one layer."""

    scores: Tensor                  # (B, K) importance of each row (garbage where not alive)
    keep: Tensor                    # (B, K) bool, rows that survive this layer
    soft_mask: Tensor | None = None  # (B, K) in [0, 1]; set in soft mode, where nothing is removed
    threshold: Tensor | None = None  # (B,) each example's cut-off in score units, for methods that have one
    rows: Tensor | None = None      # (B, K') the kept rows in order, when every example keeps as many of a dense
                                    # batch: the loop takes them as they are, with no padding or mask to build
    merge: Merge | None = None      # set by a merging method: the dropped rows live on inside the kept ones


@dataclass(frozen=True)
class Adjustment:
    """One setting a user may turn on a trained method without retraining it (LTP's threshold scale, TS-DTP's
    offset shift): what a slider needs, and `apply(value)` -> a hard-mode copy of the method so adjusted."""

    label: str
    default: float
    minimum: float
    maximum: float
    step: float
    help: str
    apply: Callable[[float], "PruningMethod"]

    @property
    def control(self) -> Control:
        """The same setting as a Control, so one renderer draws it (URL parameter `adjust`)."""
        return Control("adjustment", self.label, self.default, low=self.minimum, high=self.maximum, step=self.step,
                       url="adjust", help=self.help)


class PruningMethod(nn.Module):
    """Base class: subclasses set `name` and `title` and implement `select` (and `describe`)."""

    name: str = "base"
    title: str = "base"                   # how people name the method ("LTP", "Top-k")
    attention_summary: str = "received"   # what LayerState.attention holds: "cls" or "received"
    removes_tokens: bool = True           # False for the method that keeps every token
    merges_tokens: bool = False           # True where the rows it removes are averaged into the rows it keeps
    threshold_note: str | None = None     # how to read its thresholds, where that is not obvious

    def describe(self) -> str:
        """One line on what this method, with these settings, does."""
        return f"{self.title}: {self.config()}"

    def expected_counts(self, num_tokens: int, num_layers: int) -> list[int] | None:
        """Tokens (CLS included) left after each layer, where they are fixed in advance; None otherwise."""
        return None

    def layers(self) -> int | None:
        """How many layers its per-layer settings are for (a model must have as many); None: any number."""
        return None

    def adjustment(self) -> Adjustment | None:
        """The setting a user may turn without retraining, if any."""
        return None

    @classmethod
    def controls(cls) -> tuple[Control, ...]:
        """The settings a user turns to build this method from scratch (`registry.build_from_controls`)."""
        return ()

    @classmethod
    def settings_from_controls(cls, values: dict, num_layers: int | None) -> dict:
        """Constructor arguments from a full set of checked control values (one per control, defaults filled)."""
        return {}

    @staticmethod
    def upgrade_config(config: dict) -> dict:
        """A saved config as this version reads it (the defaults a model saved before a change was made with)."""
        return config

    def prunes_at(self, layer: int) -> bool:
        """False where the method surely keeps every token, so the layer can skip scoring entirely."""
        return True

    def select(self, state: LayerState) -> Selection:
        raise NotImplementedError

    def auxiliary_loss(self, keep_fractions: list[Tensor]) -> Tensor | None:
        """Extra training loss from the per-layer mean soft masks (soft mode only)."""
        return None

    def config(self) -> dict:
        """JSON-serialisable constructor arguments (plus learned values worth reading)."""
        return {}

    @property
    def is_soft(self) -> bool:
        return False


class TrainableMethod(PruningMethod):
    """A method with learned parameters and two modes: "soft" (differentiable masks, nothing removed,
    for training) and "hard" (real removal)."""

    def __init__(self, mode: str = "hard"):
        super().__init__()
        self.mode = mode

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in ("soft", "hard"):
            raise ValueError(f"{self.name} mode must be 'soft' or 'hard', got {value!r}.")
        self._mode = value

    @property
    def is_soft(self) -> bool:
        return self._mode == "soft"

    # Calibration (pruning_core.text.training.calibrate): every layer's cut set from the scores of real texts.
    def cuts(self) -> list[float]:
        """Every layer's cut as it stands (LTP's thresholds, TS-DTP's offsets)."""
        raise NotImplementedError

    def open_cuts(self) -> None:
        """Set every layer's cut so that it keeps every token."""
        raise NotImplementedError

    def cut_values(self, scores: np.ndarray) -> np.ndarray:
        """One text's live non-CLS scores at a layer -> the values this method compares with its cut there."""
        return scores

    def set_cut(self, layer: int, value: float | None) -> None:
        """Keep a token at `layer` while its cut value is at least `value` (None: keep every token)."""
        raise NotImplementedError


def finite_number(name: str, value: object, low: float | None = None, high: float | None = None,
                  low_open: bool = False, high_open: bool = False) -> float:
    """value as a float if it is a real, finite number within the bounds; a ValueError naming it otherwise."""
    allowed = (f"{'(' if low_open else '['}{'-inf' if low is None else f'{low:g}'}, "
               f"{'inf' if high is None else f'{high:g}'}{')' if high_open else ']'}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {allowed}, got {value!r}.")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        raise ValueError(f"{name} must lie in {allowed}, got {value!r}.")
    return float(value)


def attention_received(state: LayerState, normaliser: Tensor | None = None) -> Tensor:
    """Mean attention each row receives from the live query rows, averaged over heads: (B, K).

    The sum over queries is divided by `normaliser` (B,), by default the live queries' total presence
    (so scores sum to 1 over live rows). Real queries only: a text's scores are the same alone and in
    a padded batch."""
    if normaliser is None:
        normaliser = state.presence.sum(dim=1)
    return state.attention / normaliser.clamp(min=1).to(state.attention.dtype).unsqueeze(1)


def score_by(kind: str, state: LayerState) -> Tensor:
    """Score rows by CLS attention ('cls') or by attention received ('received')."""
    if kind == "cls":
        return state.attention
    if kind == "received":
        return attention_received(state)
    raise ValueError(f"Unknown score kind {kind!r}; choose 'cls' or 'received'.")
