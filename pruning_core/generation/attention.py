"""The lens's attention function for causal LMs: fused attention for the output, and, while a `Recorder` is
active, the attention each cached token receives, summarised per key-value head for the presses to rank by.

Registered with transformers' AttentionInterface as ATTENTION. Its name is unknown to transformers' mask
builders, so no mask reaches it: it builds the causal mask from the shapes (bottom-right aligned: the newest
queries are the last rows), which stays right when presses leave layers with caches of different lengths.
Batch 1, no padding.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

ATTENTION = "lens_kv"
QUERY_CHUNK = 256    # query rows scored at once: (H, 256, T) probabilities at a time
OBSERVATION_WINDOW = 64   # SnapKV's window: the prompt's last 64 queries (the question and the context's end)


@dataclass
class LayerAttention:
    """What one layer's prompt queries paid to each prompt token, per key-value head (its query heads summed).

    received: (B, Hk, T) attention received, summed over every query (H2O's accumulated score)
    window:   (B, Hk, T) summed over the last `window` queries only (SnapKV's observation window)
    last:     (B, Hk, T) the last query's attention (TOVA's score)
    """

    received: Tensor
    window: Tensor
    last: Tensor


@dataclass
class Recorder:
    """Collects LayerAttention per layer for the prefill run inside `recording()`."""

    window: int = OBSERVATION_WINDOW
    layers: dict[int, LayerAttention] = field(default_factory=dict)
    decode: dict[int, Tensor] = field(default_factory=dict)   # layer -> (B, Hk, S) the newest query's attention, summed
                                                              # over the key-value head's query heads

    def observe(self, layer: int, query: Tensor, key: Tensor, scale: float) -> None:
        """query (B, H, T, D) and key (B, Hk, T, D) of a prefill."""
        batch, heads, length, _ = query.shape
        kv_heads = key.shape[1]
        group = heads // kv_heads
        keys = key.repeat_interleave(group, dim=1)                                   # (B, H, T, D)
        received = query.new_zeros(batch, heads, length)
        window = query.new_zeros(batch, heads, length)
        first_window_row = max(0, length - self.window)
        positions = torch.arange(length, device=query.device)
        last = None
        for start in range(0, length, QUERY_CHUNK):
            rows = positions[start:start + QUERY_CHUNK]
            logits = query[:, :, start:start + QUERY_CHUNK] @ keys.transpose(-1, -2) * scale   # (B, H, c, T)
            logits = logits.masked_fill(positions[None, :] > rows[:, None], float("-inf"))
            probabilities = logits.softmax(dim=-1)
            received += probabilities.sum(dim=2)
            in_window = rows >= first_window_row
            if in_window.any():
                window += probabilities[:, :, in_window].sum(dim=2)
            last = probabilities[:, :, -1]
        def per_kv_head(x: Tensor) -> Tensor:
            return x.view(batch, kv_heads, group, length).sum(dim=2)
        self.layers[layer] = LayerAttention(per_kv_head(received), per_kv_head(window), per_kv_head(last))

    def observe_step(self, layer: int, query: Tensor, key: Tensor, scale: float) -> None:
        """query (B, H, 1, D) of one decoding step over key (B, Hk, S, D): its attention per kv head (B, Hk, S)."""
        batch, heads, _, _ = query.shape
        kv_heads = key.shape[1]
        group = heads // kv_heads
        logits = query.view(batch, kv_heads, group, -1) @ key.transpose(-1, -2) * scale       # (B, Hk, g, S)
        self.decode[layer] = logits.softmax(dim=-1).sum(dim=2)


_RECORDER: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("lens_kv_recorder", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Within this block, the lens's attention reports to `recorder`."""
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


def causal_mask(queries: int, keys: int, device: torch.device) -> Tensor:
    """(q, S) bool, True where a query may look: query i is token S - q + i, and sees every key up to itself."""
    rows = torch.arange(queries, device=device)[:, None] + (keys - queries)
    return torch.arange(keys, device=device)[None, :] <= rows


def lens_attention(module: torch.nn.Module, query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None,
                   dropout: float = 0.0, scaling: float | None = None, **kwargs) -> tuple[Tensor, None]:
    """query (B, H, q, D), key and value (B, Hk, S, D) -> ((B, q, H, D), None), as transformers expects."""
    queries, keys = query.shape[2], key.shape[2]
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    if queries == 1:
        mask, causal = None, False
    elif queries == keys:
        mask, causal = None, True
    else:
        mask, causal = causal_mask(queries, keys, query.device), False
    output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, is_causal=causal, scale=scale,
                                            enable_gqa=True)
    recorder = _RECORDER.get()
    if recorder is not None:
        layer = int(module.layer_idx)
        if queries == keys:
            recorder.observe(layer, query, key, scale)
        elif queries == 1:
            recorder.observe_step(layer, query, key, scale)
    return output.transpose(1, 2).contiguous(), None


def register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION, lens_attention)


register()
