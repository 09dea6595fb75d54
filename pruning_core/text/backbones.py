"""Adapters that expose a Hugging Face BERT-family classifier as embed -> blocks -> head.

Each adapter knows one architecture's attribute names; nothing else in the package does. Blocks
recompute self-attention with `self_attention` so that only the probabilities a method needs are
materialised (see pruning_core.attention).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ..attention import AttentionBlock
from ..classifier import UnsupportedModelError
from ..loop import Block


class BertStyleBlock(AttentionBlock):
    """BERT and RoBERTa layers: self-attention, its output projection and norm, then feed-forward."""

    def projections(self) -> tuple[nn.Linear, nn.Linear, nn.Linear, int, float]:
        attention = self.layer.attention.self
        return attention.query, attention.key, attention.value, attention.num_attention_heads, attention.dropout.p

    def attention_output(self, context: Tensor, hidden: Tensor) -> Tensor:
        return self.layer.attention.output(context, hidden)

    def feed_forward(self, hidden: Tensor) -> Tensor:
        return self.layer.feed_forward_chunk(hidden)


class DistilBertBlock(AttentionBlock):
    def projections(self) -> tuple[nn.Linear, nn.Linear, nn.Linear, int, float]:
        attention = self.layer.attention
        return attention.q_lin, attention.k_lin, attention.v_lin, attention.n_heads, attention.dropout.p

    def attention_output(self, context: Tensor, hidden: Tensor) -> Tensor:
        return self.layer.sa_layer_norm(self.layer.attention.out_lin(context) + hidden)

    def feed_forward(self, hidden: Tensor) -> Tensor:
        return self.layer.output_layer_norm(self.layer.ffn(hidden) + hidden)


@dataclass
class Backbone:
    embed: Callable[[Tensor], Tensor]   # input_ids (B, N) -> (B, N, D)
    blocks: list[Block]
    head: Callable[[Tensor], Tensor]    # hidden (B, K, D) with CLS at row 0 -> logits (B, C)


def _bert(model: nn.Module) -> Backbone:
    def head(hidden: Tensor) -> Tensor:
        return model.classifier(model.dropout(model.bert.pooler(hidden)))

    return Backbone(lambda ids: model.bert.embeddings(input_ids=ids),
                    [BertStyleBlock(layer) for layer in model.bert.encoder.layer], head)


def _roberta(model: nn.Module) -> Backbone:
    return Backbone(lambda ids: model.roberta.embeddings(input_ids=ids),
                    [BertStyleBlock(layer) for layer in model.roberta.encoder.layer], model.classifier)


def _distilbert(model: nn.Module) -> Backbone:
    def head(hidden: Tensor) -> Tensor:
        pooled = torch.relu(model.pre_classifier(hidden[:, 0]))
        return model.classifier(model.dropout(pooled))

    return Backbone(lambda ids: model.distilbert.embeddings(ids),
                    [DistilBertBlock(layer) for layer in model.distilbert.transformer.layer], head)


ADAPTERS: dict[str, Callable[[nn.Module], Backbone]] = {
    "bert": _bert,
    "roberta": _roberta,
    "distilbert": _distilbert,
}


def backbone_for(model: nn.Module) -> Backbone:
    """The adapter for a loaded sequence classifier; a clear error for unsupported families."""
    model_type = getattr(model.config, "model_type", None)
    if model_type not in ADAPTERS:
        raise UnsupportedModelError(
            f"Model type {model_type!r} is not a supported BERT-family classifier "
            f"(supported: {', '.join(ADAPTERS)}).")
    return ADAPTERS[model_type](model)
