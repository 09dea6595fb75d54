"""The generation trace: which prompt tokens each layer's key-value heads kept while the answer was written."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MEGABYTE = 1_000_000   # how every cache size is reported (MB, not MiB)


@dataclass
class GenerationTrace:
    """One prompt under one press.

    present[l, h, i]: how many answer tokens were generated with context token i in layer l's cache for key-value
    head h (0: evicted at prefill; len(answer_ids): kept to the end). kept = present > 0 is the cache after the press.
    scores[l, h, i] ranked the tokens (inf: kept by rule, such as sinks and recent tokens).
    """

    tokens: list[str]                    # the prompt's tokens: context then question
    context_length: int                  # the first C tokens are the context (the pressed part)
    present: np.ndarray                  # (L, Hk, C) int
    scores: np.ndarray                   # (L, Hk, C) float32
    answer_ids: list[int]
    answer: str
    press: str                           # the press's description
    press_config: dict
    budget: float | int
    context_text: str = ""
    offsets: list[tuple[int, int]] = field(default_factory=list)   # per context token, its span in context_text
    first_token: list[tuple[str, float]] = field(default_factory=list)   # the first answer token's top choices
    prefill_seconds: float = 0.0
    decode_ms_per_token: float = 0.0
    cache_bytes: int = 0                 # keys and values held after the press, question included
    full_cache_bytes: int = 0            # the same with nothing pressed

    @property
    def kept(self) -> np.ndarray:
        """(L, Hk, C) bool: in the cache when the first answer token was generated."""
        return self.present > 0

    @property
    def num_layers(self) -> int:
        return int(self.present.shape[0])

    @property
    def kept_share(self) -> np.ndarray:
        """(C,) the share of (layer, key-value head) caches holding each context token after the press."""
        return self.kept.mean(axis=(0, 1))

    @property
    def layers_kept(self) -> np.ndarray:
        """(C,) in how many layers at least one key-value head kept each context token."""
        return self.kept.any(axis=1).sum(axis=0)

    @property
    def kept_per_layer(self) -> list[int]:
        """Context tokens each layer kept (per key-value head: every head of a layer keeps as many)."""
        return self.kept[:, 0].sum(axis=1).astype(int).tolist()

    @property
    def cache_mb(self) -> float:
        return self.cache_bytes / MEGABYTE

    @property
    def cache_share(self) -> float:
        return self.cache_bytes / self.full_cache_bytes if self.full_cache_bytes else 1.0

    def in_cache(self, answer_step: int) -> np.ndarray:
        """(L, Hk, C) bool: context tokens in the cache when answer token `answer_step` (0-based) was generated."""
        return self.present > answer_step
