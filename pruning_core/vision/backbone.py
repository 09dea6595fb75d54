"""transformers' ViT classifier exposed as embed -> blocks -> head for the shared layer loop.

The only module that knows ViT's attribute names (transformers 5: `vit.layers`, attention with
q_proj/k_proj/v_proj/o_proj). ViT layers are pre-norm: x + attn(LN(x)), then x + mlp(LN(x)).
Both halves act row by row after attention, so the loop can remove rows between them.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn
from transformers import ViTForImageClassification

from ..attention import self_attention


@dataclass
class ViTBlock:
    layer: nn.Module

    def attend(self, hidden: Tensor, additive_mask: Tensor | None, probs: str | None) -> tuple[Tensor, Tensor | None]:
        attention = self.layer.attention
        dropout = attention.attention_dropout if self.layer.training else 0.0
        context, weights = self_attention(self.layer.layernorm_before(hidden), attention.q_proj, attention.k_proj,
                                          attention.v_proj, attention.num_attention_heads, additive_mask, probs,
                                          dropout)
        return hidden + self.layer.dropout(attention.o_proj(context)), weights

    def feed_forward(self, hidden: Tensor) -> Tensor:
        return hidden + self.layer.dropout(self.layer.mlp(self.layer.layernorm_after(hidden)))


def vit_blocks(model: ViTForImageClassification) -> list[ViTBlock]:
    return [ViTBlock(layer) for layer in model.vit.layers]


def vit_embed(model: ViTForImageClassification, pixel_values: Tensor) -> Tensor:
    """(B, 3, H, W) normalised pixels -> (B, 1 + patches, D): CLS row first, position embeddings added."""
    return model.vit.embeddings(pixel_values)


def vit_head(model: ViTForImageClassification, hidden: Tensor) -> Tensor:
    """Final norm on the CLS row (LayerNorm is row-wise, so the other rows need not be normed) -> logits."""
    return model.classifier(model.vit.layernorm(hidden[:, 0]))
