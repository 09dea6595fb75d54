"""A BERT-family sequence classifier driven layer by layer under a pruning method."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..loop import LoopOutput, run_layers, training_loss
from ..methods import NoPruning, PruningMethod
from ..trace import ExampleTrace
from .backbones import backbone_for

DEFAULT_MAX_LENGTH = 256


class EmptyTextError(ValueError):
    """A text with nothing but whitespace: there is nothing to classify."""


@dataclass
class TextOutput:
    logits: Tensor                 # (B, C)
    loss: Tensor | None            # cross-entropy plus the method's auxiliary loss, when labels are given
    auxiliary_loss: Tensor | None  # the method's own term (soft mode), already in `loss`
    loop: LoopOutput


@dataclass
class Encoding:
    input_ids: Tensor        # (B, N)
    attention_mask: Tensor   # (B, N)
    batch: object            # the tokenizer's BatchEncoding, for tokens, offsets and word ids
    truncated: list[bool]
    lengths: list[int]       # real tokens per example


class PrunedTextClassifier(nn.Module):
    """A Hugging Face classifier (`model`) plus a pruning method; `forward` runs our own layer loop."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 method: PruningMethod | None = None):
        super().__init__()
        self.model = model
        self.method = method if method is not None else NoPruning()
        self.tokenizer = tokenizer
        self.backbone = backbone_for(model)

    @property
    def num_layers(self) -> int:
        return len(self.backbone.blocks)

    @property
    def label_names(self) -> list[str]:
        id2label = self.model.config.id2label
        return [str(id2label[i]) for i in range(len(id2label))]

    @property
    def max_length(self) -> int:
        """Longest input the position embeddings allow (RoBERTa reserves two positions)."""
        config = self.model.config
        return config.max_position_embeddings - (2 if config.model_type == "roberta" else 0)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None,
                record: bool = False) -> TextOutput:
        loop = run_layers(self.backbone.blocks, self.backbone.embed(input_ids), attention_mask.bool(),
                          self.method, record=record)
        logits = self.backbone.head(loop.hidden)
        loss, auxiliary = training_loss(self.method, logits, labels, loop)
        return TextOutput(logits, loss, auxiliary, loop)

    def encode(self, texts: list[str], max_length: int = DEFAULT_MAX_LENGTH) -> Encoding:
        """Tokenize (truncating to max_length) and pad to the batch's longest text."""
        for number, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise EmptyTextError(f"Text #{number} is empty: there is nothing to classify.")
        max_length = min(max_length, self.max_length)
        batch = self.tokenizer(texts, truncation=True, max_length=max_length, padding=True,
                               return_offsets_mapping=True, return_tensors="pt")
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        truncated = [_was_truncated(text, batch["offset_mapping"][i, :n]) for i, (text, n) in
                     enumerate(zip(texts, lengths))]
        device = next(self.model.parameters()).device
        return Encoding(batch["input_ids"].to(device), batch["attention_mask"].to(device), batch, truncated,
                        lengths)

    @torch.inference_mode()
    def trace(self, texts: list[str], labels: list[int] | None = None, max_length: int = DEFAULT_MAX_LENGTH,
              batch_size: int = 32) -> list[ExampleTrace]:
        """Classify texts and record, per example and layer, which tokens survived and their scores."""
        self.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch well
        traces: list[ExampleTrace | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            encoding = self.encode([texts[i] for i in chunk], max_length)
            output = self(encoding.input_ids, encoding.attention_mask, record=True)
            chunk_labels = [None if labels is None else int(labels[i]) for i in chunk]
            for row, example_trace in enumerate(self._to_traces(encoding, output, [texts[i] for i in chunk],
                                                                chunk_labels)):
                traces[chunk[row]] = example_trace
        return traces

    def _to_traces(self, encoding: Encoding, output: TextOutput, texts: list[str],
                   labels: list[int | None]) -> list[ExampleTrace]:
        records = output.loop.records
        scores = torch.stack([r.scores for r in records]).numpy()   # (L, B, N)
        kept = torch.stack([r.kept for r in records]).numpy()
        probabilities = output.logits.float().softmax(dim=-1).cpu().tolist()
        traces = []
        for row, (text, n) in enumerate(zip(texts, encoding.lengths)):
            ids = encoding.input_ids[row, :n].tolist()
            traces.append(ExampleTrace(
                tokens=self.tokenizer.convert_ids_to_tokens(ids),
                scores=np.ascontiguousarray(scores[:, row, :n], dtype=np.float32),
                kept=np.ascontiguousarray(kept[:, row, :n]),
                thresholds=output.loop.thresholds_of(row),
                probabilities=probabilities[row],
                label_names=self.label_names,
                text=text,
                offsets=[tuple(span) for span in encoding.batch["offset_mapping"][row, :n].tolist()],
                word_ids=encoding.batch.word_ids(row)[:n],
                label=labels[row],
                truncated=encoding.truncated[row],
            ))
        return traces


def _was_truncated(text: str, offsets: Tensor) -> bool:
    """True when non-space text remains after the last token the tokenizer kept."""
    return bool(text[int(offsets[:, 1].max()):].strip())
