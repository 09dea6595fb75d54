"""Multi-head self-attention that returns only the attention summary a method needs.

Computing the full (B, H, K, K) probability matrix costs far more on a CPU than PyTorch's fused
attention, so each block asks for just what it must have, already reduced to one score per key:
  None        -> fused scaled-dot-product attention, no summary;
  "cls"       -> fused attention plus the CLS query row, averaged over heads, (B, K);
  "received"  -> the attention each key receives, summed over query rows weighted by `query_weight`
                 and averaged over heads, (B, K). It needs every probability, so it runs eager
                 attention, one small group of examples at a time so that each group's probability
                 matrix stays in cache (MiniLM-L6, 32 x 256 tokens, 2 cores: 23 ms fused, 51 ms eager in
                 one piece, 35 ms grouped, per layer).
Training on a CPU always takes the eager path: the fused kernel's backward pass is slow there (the
CIFAR-10 ViT's training step: 1.28 s fused, 0.74 s eager, batch 128 on 2 cores; 37% of the fused step
was the attention's backward pass; the IMDb MiniLM's step, 16 x 256 tokens: 0.74 s fused, 0.61 s eager).
On GPUs the fused kernel stays.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

SUMMARIES = (None, "cls", "received")
GROUP_BYTES = 4 << 20   # probabilities materialised at once on the grouped eager path


def self_attention(hidden: Tensor, query: nn.Linear, key: nn.Linear, value: nn.Linear, num_heads: int,
                   additive_mask: Tensor | None, summary: str | None, query_weight: Tensor | None = None,
                   dropout: float = 0.0, cls_only: bool = False) -> tuple[Tensor, Tensor | None]:
    """hidden (B, K, D), additive_mask (B, 1, 1, K) or None -> context (B, K, D), summary (B, K) or None.

    query_weight (B, K): how much each query row counts in the "received" summary (1 for a live row,
    0 for padding or a removed row, the soft mask in soft training). cls_only: only CLS's row queries
    (every row is still a key and a value): context (B, 1, D), no summary."""
    if summary not in SUMMARIES:
        raise ValueError(f"Unknown attention summary {summary!r}; choose from {SUMMARIES}.")
    if summary == "received" and query_weight is None:
        raise ValueError("The 'received' summary needs the query rows' weights.")
    if cls_only and summary is not None:
        raise ValueError(f"A CLS-only attention row gives no summary, got summary={summary!r}.")
    batch, length, _ = hidden.shape

    def heads(projection: nn.Linear, rows: Tensor) -> Tensor:
        return projection(rows).view(batch, rows.shape[1], num_heads, -1).transpose(1, 2)   # (B, H, K, d)

    q = heads(query, hidden[:, :1] if cls_only else hidden)
    k, v = heads(key, hidden), heads(value, hidden)
    weights = None
    if torch.is_grad_enabled() and (hidden.device.type == "cpu" or summary == "received"):
        context, weights = _eager(q, k, v, additive_mask, summary, query_weight, dropout)
    elif summary == "received":
        context, weights = _eager_grouped(q, k, v, additive_mask, query_weight)
    else:
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=additive_mask, dropout_p=dropout,
                                                 scale=q.shape[-1] ** -0.5)
        if summary == "cls":
            weights = _probabilities(q[:, :, :1], k, additive_mask).mean(dim=1)[:, 0]
    return context.transpose(1, 2).reshape(batch, q.shape[2], -1), weights


def _probabilities(q: Tensor, k: Tensor, additive_mask: Tensor | None) -> Tensor:
    """(B, H, Q, d), (B, H, K, d) -> softmax over keys (B, H, Q, K)."""
    logits = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))   # scaling q is K/d times cheaper
    if additive_mask is not None:
        logits += additive_mask
    return logits.softmax(dim=-1)


def _received(probs: Tensor, query_weight: Tensor) -> Tensor:
    """(B, H, K, K) probabilities, (B, K) query weights -> (B, K) weighted column sums, mean over heads."""
    batch, num_heads, length, _ = probs.shape
    rows = (query_weight.to(probs.dtype) / num_heads).repeat(1, num_heads).unsqueeze(1)   # (B, 1, H*K)
    return torch.bmm(rows, probs.reshape(batch, num_heads * length, length)).squeeze(1)


def _eager(q: Tensor, k: Tensor, v: Tensor, additive_mask: Tensor | None, summary: str | None,
           query_weight: Tensor | None, dropout: float) -> tuple[Tensor, Tensor | None]:
    probs = _probabilities(q, k, additive_mask)
    context = torch.matmul(F.dropout(probs, dropout) if dropout else probs, v)
    if summary == "cls":
        return context, probs[:, :, 0].mean(dim=1)
    return context, _received(probs, query_weight) if summary == "received" else None


def _eager_grouped(q: Tensor, k: Tensor, v: Tensor, additive_mask: Tensor | None, query_weight: Tensor
                   ) -> tuple[Tensor, Tensor]:
    """Inference only: eager attention over a few examples at a time, each group's probabilities in cache."""
    batch, num_heads, length, _ = q.shape
    group = max(1, GROUP_BYTES // (num_heads * length * length * q.element_size()))
    context = q.new_empty(q.shape)
    received = []
    for start in range(0, batch, group):
        part = slice(start, start + group)
        probs = _probabilities(q[part], k[part], None if additive_mask is None else additive_mask[part])
        torch.matmul(probs, v[part], out=context[part])
        received.append(_received(probs, query_weight[part]))
    return context, torch.cat(received)


class AttentionBlock:
    """One encoder layer as the layer loop drives it (pruning_core.loop.Block): subclasses name the layer's
    attention parts and how its output joins the residual; `attend` is the same for every architecture."""

    def __init__(self, layer: nn.Module):
        self.layer = layer

    def projections(self) -> tuple[nn.Linear, nn.Linear, nn.Linear, int, float]:
        """query, key and value projections, the number of heads and the attention dropout probability."""
        raise NotImplementedError

    def attention_input(self, hidden: Tensor) -> Tensor:
        return hidden                         # post-norm layers; pre-norm ones normalise here

    def attention_output(self, context: Tensor, hidden: Tensor) -> Tensor:
        """(B, K, D) context and layer input -> the attention half's output."""
        raise NotImplementedError

    def feed_forward(self, hidden: Tensor) -> Tensor:
        raise NotImplementedError

    def attend(self, hidden: Tensor, additive_mask: Tensor | None, summary: str | None,
               query_weight: Tensor | None) -> tuple[Tensor, Tensor | None]:
        query, key, value, num_heads, dropout = self.projections()
        context, weights = self_attention(self.attention_input(hidden), query, key, value, num_heads, additive_mask,
                                          summary, query_weight, dropout if self.layer.training else 0.0)
        return self.attention_output(context, hidden), weights

    def attend_cls(self, hidden: Tensor, additive_mask: Tensor | None) -> Tensor:
        """(B, K, D) -> (B, 1, D): the attention half for CLS's row alone, every row still a key and a value."""
        query, key, value, num_heads, dropout = self.projections()
        context, _ = self_attention(self.attention_input(hidden), query, key, value, num_heads, additive_mask, None,
                                    None, dropout if self.layer.training else 0.0, cls_only=True)
        return self.attention_output(context, hidden[:, :1])
