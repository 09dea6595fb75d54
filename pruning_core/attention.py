"""Multi-head self-attention that returns only the attention probabilities a method needs.

Computing the full (B, H, K, K) probability matrix costs far more on a CPU than PyTorch's fused
attention, so each block asks for just what it must have:
  None   -> fused scaled-dot-product attention, no probabilities;
  "cls"  -> fused attention plus the CLS query row of the probabilities, (B, H, 1, K);
  "full" -> eager attention and the whole matrix, (B, H, K, K).
Training on a CPU always takes the eager path: the fused kernel's backward pass is slow there (the
CIFAR-10 ViT's training step: 1.28 s fused, 0.74 s eager, batch 128 on 2 cores; 37% of the fused step
was the attention's backward pass; the IMDb MiniLM's step, 16 x 256 tokens: 0.74 s fused, 0.61 s eager).
On GPUs the fused kernel stays.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

PROBS_KINDS = (None, "cls", "full")


def self_attention(hidden: Tensor, query: nn.Linear, key: nn.Linear, value: nn.Linear, num_heads: int,
                   additive_mask: Tensor | None, probs: str | None, dropout: float = 0.0
                   ) -> tuple[Tensor, Tensor | None]:
    """hidden (B, K, D), additive_mask (B, 1, 1, K) or None -> context (B, K, D), probabilities or None."""
    batch, length, _ = hidden.shape

    def heads(projection: nn.Linear) -> Tensor:
        return projection(hidden).view(batch, length, num_heads, -1).transpose(1, 2)   # (B, H, K, d)

    q, k, v = heads(query), heads(key), heads(value)
    scale = q.shape[-1] ** -0.5
    if probs == "full" or (torch.is_grad_enabled() and hidden.device.type == "cpu"):   # see the module docstring
        logits = torch.matmul(q, k.transpose(-1, -2)) * scale
        if additive_mask is not None:
            logits = logits + additive_mask
        weights = logits.softmax(dim=-1)
        context = torch.matmul(F.dropout(weights, dropout) if dropout else weights, v)
    else:
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=additive_mask, dropout_p=dropout, scale=scale)
        weights = None
        if probs == "cls":
            cls_logits = torch.matmul(q[:, :, :1], k.transpose(-1, -2)) * scale
            if additive_mask is not None:
                cls_logits = cls_logits + additive_mask
            weights = cls_logits.softmax(dim=-1)
    return context.transpose(1, 2).reshape(batch, length, -1), weights
