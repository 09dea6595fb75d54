"""A BERT-family sequence classifier driven layer by layer under a pruning method."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from transformers import BatchEncoding, PreTrainedModel, PreTrainedTokenizerBase

from ..classifier import ClassifierOutput, PrunedClassifier
from ..methods import PruningMethod
from ..trace import ExampleTrace
from .backbones import backbone_for

DEFAULT_MAX_LENGTH = 256


class EmptyTextError(ValueError):
    """A text with nothing but whitespace: there is nothing to classify."""


@dataclass
class Encoding:
    input_ids: Tensor        # (B, N)
    attention_mask: Tensor   # (B, N)
    batch: object            # the tokenizer's BatchEncoding, for tokens, offsets and word ids
    truncated: list[bool]
    lengths: list[int]       # real tokens per example


class PrunedTextClassifier(PrunedClassifier):
    """A Hugging Face sequence classifier (`model`) and its tokenizer plus a pruning method."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 method: PruningMethod | None = None):
        backbone = backbone_for(model)
        super().__init__(model, backbone.blocks, method)
        self.backbone = backbone
        self.tokenizer = tokenizer

    @property
    def max_length(self) -> int:
        """Longest input the position embeddings allow (RoBERTa reserves two positions)."""
        return self.config.max_position_embeddings - (2 if self.config.model_type == "roberta" else 0)

    def head(self, hidden: Tensor) -> Tensor:
        return self.backbone.head(hidden)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None,
                record: bool = False) -> ClassifierOutput:
        return self.classify(self.backbone.embed(input_ids), attention_mask.bool(), labels, record)

    def encode(self, texts: list[str], max_length: int = DEFAULT_MAX_LENGTH) -> Encoding:
        """Tokenize (truncating to max_length) and pad to the batch's longest text."""
        texts = checked_texts(texts)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f"max_length must be a whole number of tokens >= 2 (CLS and SEP), got {max_length!r}.")
        max_length = min(max_length, self.max_length)
        batch = self.tokenizer(texts, truncation=True, max_length=max_length, padding=True,
                               return_offsets_mapping=True, return_tensors="pt")
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        truncated = [_was_truncated(batch, row) for row in range(len(texts))]
        return Encoding(batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device), batch,
                        truncated, lengths)

    @torch.inference_mode()
    def trace(self, texts: list[str], labels: list[int] | None = None, max_length: int = DEFAULT_MAX_LENGTH,
              batch_size: int = 32) -> list[ExampleTrace]:
        """Classify texts (a list of strings; one string is one text) and record, per example and layer, which
        tokens survived and their scores."""
        texts = checked_texts(texts)
        if labels is not None and len(labels) != len(texts):
            raise ValueError(f"Got {len(labels)} labels for {len(texts)} texts: give one label per text.")
        self.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths batch well
        traces: list[ExampleTrace | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            encoding = self.encode([texts[i] for i in chunk], max_length)
            output = self(encoding.input_ids, encoding.attention_mask, record=True)
            fields = [self._text_fields(encoding, row, texts[i], None if labels is None else int(labels[i]))
                      for row, i in enumerate(chunk)]
            for i, example_trace in zip(chunk, self.example_traces(output, encoding.lengths, fields)):
                traces[i] = example_trace
        return traces

    def save(self, folder: str | Path) -> Path:
        """Weights, config, tokenizer and the pruning method."""
        folder = super().save(folder)
        self.tokenizer.save_pretrained(folder)
        return folder

    def _text_fields(self, encoding: Encoding, row: int, text: str, label: int | None) -> dict:
        """What a text trace adds to the shared fields: tokens, the text, offsets, word ids, truncation."""
        n = encoding.lengths[row]
        return {"tokens": self.tokenizer.convert_ids_to_tokens(encoding.input_ids[row, :n].tolist()),
                "text": text,
                "offsets": [tuple(span) for span in encoding.batch["offset_mapping"][row, :n].tolist()],
                "word_ids": encoding.batch.word_ids(row)[:n], "label": label,
                "truncated": encoding.truncated[row]}


def checked_texts(texts: object) -> list[str]:
    """texts as a list of non-empty strings (a bare string is one text); a TypeError or EmptyTextError that
    names the first bad item otherwise."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"Expected a list of texts (strings), got {type(texts).__name__}.")
    for number, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"Text #{number} is {type(text).__name__} {text!r:.40}, not a string.")
        if not text.strip():
            raise EmptyTextError(f"Text #{number} is empty: there is nothing to classify.")
    return list(texts)


def _was_truncated(batch: BatchEncoding, row: int) -> bool:
    """True when the tokenizer dropped tokens of text `row` to fit max_length: its own overflow (which its truncation
    fills anyway, at no extra cost), not a guess from characters, since characters after the last token kept (zero-width
    or control characters) may be ones that make no token at all."""
    return bool(batch.encodings[row].overflowing)
