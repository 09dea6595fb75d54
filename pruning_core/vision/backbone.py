"""transformers' ViT classifier exposed as embed -> blocks -> head for the shared layer loop.

The only module that knows ViT's attribute names (transformers 5: `vit.layers`, attention with
q_proj/k_proj/v_proj/o_proj). ViT layers are pre-norm: x + attn(LN(x)), then x + mlp(LN(x)).
Both halves act row by row after attention, so the loop can remove rows between them.

`StemViT` can swap ViT's patch embedding (one linear map per patch) for a small convolutional
stem (`stem="conv"` in the config) that yields the same grid of tokens, one per patch: a ViT
trained from scratch otherwise has to learn local image structure from data, which a few epochs on
CIFAR-10 do not give it ("Early convolutions help transformers see better", Xiao et al. 2021). The
stem costs about 1% of the encoder's work, so pruning's speed-up is unchanged.
"""
from __future__ import annotations

import math

from torch import Tensor, nn
from transformers import ViTConfig, ViTForImageClassification

from ..attention import AttentionBlock


class ViTBlock(AttentionBlock):
    """Pre-norm: x + attn(LN(x)), then x + mlp(LN(x))."""

    def projections(self) -> tuple[nn.Linear, nn.Linear, nn.Linear, int, float]:
        attention = self.layer.attention
        return (attention.q_proj, attention.k_proj, attention.v_proj, attention.num_attention_heads,
                attention.attention_dropout)

    def attention_input(self, hidden: Tensor) -> Tensor:
        return self.layer.layernorm_before(hidden)

    def attention_output(self, context: Tensor, hidden: Tensor) -> Tensor:
        return hidden + self.layer.dropout(self.layer.attention.o_proj(context))

    def feed_forward(self, hidden: Tensor) -> Tensor:
        return hidden + self.layer.dropout(self.layer.mlp(self.layer.layernorm_after(hidden)))


STEMS = ("patch", "conv")


class StemViT(ViTForImageClassification):
    """ViTForImageClassification with the stem its config names (`stem`, default "patch"); it saves and
    loads with save_pretrained / from_pretrained like its parent."""

    def __init__(self, config: ViTConfig):
        super().__init__(config)
        stem = getattr(config, "stem", "patch")
        if stem not in STEMS:
            raise ValueError(f"Unknown stem {stem!r}: choose from {', '.join(STEMS)}.")
        if stem == "conv":
            self.vit.embeddings.patch_embeddings.projection = conv_stem(config.hidden_size, config.patch_size)


class ConvStem(nn.Sequential):
    @property
    def weight(self) -> Tensor:
        """The first convolution's weight: transformers' ViTModel.forward reads the patch projection's dtype."""
        return self[0].weight


def conv_stem(hidden_size: int, patch_size: int) -> ConvStem:
    """log2(patch_size) stride-2 3x3 convolutions (BatchNorm, GELU), widening towards hidden_size, then a
    1x1 projection: (B, 3, S, S) -> (B, hidden_size, S / patch_size, S / patch_size), like the patch embedding."""
    steps = round(math.log2(patch_size))
    if patch_size < 2 or 2 ** steps != patch_size:
        raise ValueError(f"A conv stem needs a patch size that is a power of two, got {patch_size}.")
    layers, channels = [], 3
    for step in range(steps):
        width = max(8, hidden_size >> (steps - step))   # hidden 128, patch 4: 32 then 64 channels
        layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.GELU()]
        channels = width
    return ConvStem(*layers, nn.Conv2d(channels, hidden_size, 1))


def vit_blocks(model: ViTForImageClassification) -> list[ViTBlock]:
    return [ViTBlock(layer) for layer in model.vit.layers]


def vit_embed(model: ViTForImageClassification, pixel_values: Tensor) -> Tensor:
    """(B, 3, H, W) normalised pixels -> (B, 1 + patches, D): CLS row first, position embeddings added.

    Pictures smaller than the config's image_size (a cheaper grid, used early in training) get the
    position embeddings resized to their grid."""
    return model.vit.embeddings(pixel_values, interpolate_pos_encoding=pixel_values.shape[-1] != model.config.image_size)


def vit_feature(model: ViTForImageClassification, hidden: Tensor) -> Tensor:
    """(B, K, D) final rows -> (B, D) the normed CLS row, what the head reads (LayerNorm is row-wise, so the
    other rows need not be normed)."""
    return model.vit.layernorm(hidden[:, 0])


def vit_head(model: ViTForImageClassification, hidden: Tensor) -> Tensor:
    """(B, K, D) final rows -> (B, C) logits."""
    return model.classifier(vit_feature(model, hidden))
