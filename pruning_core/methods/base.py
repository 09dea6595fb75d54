"""The interface every pruning method implements, and the attention scores they share.

A method sees one layer at a time (`LayerState`) and answers with a `Selection`: a score per row,
which rows survive, and, in soft (training) mode, a differentiable mask instead of a removal.
Shapes: B examples, K rows currently alive in the padded batch, H heads.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class LayerState:
    """What a method may look at when deciding at one layer."""

    index: int          # layer number, 0-based
    probs: Tensor       # attention probabilities: (B, H, K, K), or (B, H, 1, K) for the CLS row only
    alive: Tensor       # (B, K) bool, rows that are real tokens still in play
    hidden: Tensor      # (B, K, D) hidden states after this layer's attention
    n_input: Tensor     # (B,) real (non-padding) length of each example at the input
    num_layers: int


@dataclass
class Selection:
    """A method's answer for one layer."""

    scores: Tensor                  # (B, K) importance of each row (garbage where not alive)
    keep: Tensor                    # (B, K) bool, rows that survive this layer
    soft_mask: Tensor | None = None  # (B, K) in [0, 1]; set in soft mode, where nothing is removed
    threshold: float | None = None  # the layer's threshold, for methods that have one


class PruningMethod(nn.Module):
    """Base class: subclasses set `name` and implement `select`."""

    name: str = "base"
    probs_needed: str = "full"   # "cls": only the CLS row of the attention probabilities; "full": all of it

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


def attention_received(probs: Tensor, alive: Tensor) -> Tensor:
    """Mean attention each key receives, averaged over heads and over real query rows.

    Dividing by the number of *real* queries (not the padded length) keeps a text's scores the
    same alone and inside a padded batch. probs: (B, H, K, K); alive: (B, K) -> (B, K).
    """
    per_key = probs.mean(dim=1)                                   # (B, Kq, Kk)
    query_weight = alive.to(per_key.dtype).unsqueeze(-1)          # (B, Kq, 1)
    total = (per_key * query_weight).sum(dim=1)                   # (B, Kk)
    return total / alive.sum(dim=1, keepdim=True).clamp(min=1).to(per_key.dtype)


def cls_attention(probs: Tensor) -> Tensor:
    """Attention from the CLS row (row 0) to every key, averaged over heads: (B, H, Q, K) -> (B, K)."""
    return probs[:, :, 0, :].mean(dim=1)


def score_by(kind: str, state: LayerState) -> Tensor:
    """Score rows by CLS attention ('cls') or by attention received ('received')."""
    if kind == "cls":
        return cls_attention(state.probs)
    if kind == "received":
        return attention_received(state.probs, state.alive)
    raise ValueError(f"Unknown score kind {kind!r}; choose 'cls' or 'received'.")
