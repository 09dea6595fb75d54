"""What text and image classifiers share: a transformers model plus a pruning method, run through the
layer loop (`run_layers`), traced the same way and saved the same way.

A subclass gives its blocks and its head, turns its inputs into the first hidden states in `forward`
(then calls `classify`) and adds the fields its traces carry (`example_traces`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from transformers import AutoConfig, PretrainedConfig, PreTrainedModel

from .loop import Block, LoopOutput, run_layers, training_loss
from .methods import NoPruning, PruningMethod, save_method
from .trace import ExampleTrace


class ModelLoadError(RuntimeError):
    """The model could not be found or read; the message says what to do."""


class UnsupportedModelError(ValueError):
    """The folder or hub id holds a model this tool cannot drive layer by layer."""


@dataclass
class ClassifierOutput:
    logits: Tensor                 # (B, C)
    loss: Tensor | None            # cross-entropy plus the method's auxiliary loss, when labels are given
    auxiliary_loss: Tensor | None  # the method's own term (soft mode), already in `loss`
    loop: LoopOutput


class PrunedClassifier(nn.Module):
    """A transformers classifier (`model`) plus a pruning method (`method`); `forward` runs our own layer loop."""

    def __init__(self, model: PreTrainedModel, blocks: list[Block], method: PruningMethod | None = None):
        super().__init__()
        self.model = model
        self.blocks = blocks
        self.method = method if method is not None else NoPruning()

    def __setattr__(self, name: str, value) -> None:
        if name == "method":   # checked whenever it is set, not at the first trace
            value = self.checked_method(value)
        super().__setattr__(name, value)

    def checked_method(self, method: object) -> PruningMethod:
        """`method` if it can run this model; a ValueError naming it otherwise (a name instead of a method, or
        per-layer settings for another number of layers)."""
        if not isinstance(method, PruningMethod):
            raise ValueError(f"method must be a pruning method (for example build_method('topk', r_max=0.6, "
                             f"alpha=2)), got {type(method).__name__} {method!r:.60}.")
        layers = method.layers()
        if layers is not None and layers != self.num_layers:
            raise ValueError(f"method {method.name!r} has settings for {layers} layers, but this model has "
                             f"{self.num_layers}.")
        return method

    @property
    def config(self) -> PretrainedConfig:
        return self.model.config

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    @property
    def label_names(self) -> list[str]:
        id2label = self.config.id2label
        return [str(id2label[i]) for i in range(len(id2label))]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def head(self, hidden: Tensor) -> Tensor:
        """(B, K, D) surviving rows, CLS at row 0 -> logits (B, C)."""
        raise NotImplementedError

    def classify(self, hidden: Tensor, alive: Tensor, labels: Tensor | None = None,
                 record: bool = False) -> ClassifierOutput:
        """The shared half of forward: hidden (B, N, D) with real rows alive (B, N) through the pruned layers
        and the head; the loss when labels (B,) are given."""
        loop = run_layers(self.blocks, hidden, alive, self.method, record=record)
        logits = self.head(loop.hidden)
        loss, auxiliary = training_loss(self.method, logits, labels, loop)
        return ClassifierOutput(logits, loss, auxiliary, loop)

    def example_traces(self, output: ClassifierOutput, lengths: Sequence[int],
                       fields: Sequence[dict[str, Any]]) -> list[ExampleTrace]:
        """One trace per example of a recorded forward pass: example `row` has lengths[row] real tokens, and
        fields[row] holds what only its modality knows (tokens, text, offsets, grid...)."""
        records = output.loop.records
        scores = torch.stack([r.scores for r in records]).cpu().numpy()   # (L, B, N)
        kept = torch.stack([r.kept for r in records]).cpu().numpy()       # (L, B, N)
        merged = None
        if any(r.merged_into is not None for r in records):
            merged = torch.stack([r.merged_into for r in records]).cpu().numpy().astype(np.int32)   # (L, B, N)
        probabilities = output.logits.float().softmax(dim=-1).cpu().tolist()
        return [ExampleTrace(scores=np.ascontiguousarray(scores[:, row, :n], dtype=np.float32),
                             kept=np.ascontiguousarray(kept[:, row, :n]),
                             thresholds=output.loop.thresholds_of(row), probabilities=probabilities[row],
                             label_names=self.label_names,
                             merged_into=None if merged is None else np.ascontiguousarray(merged[:, row, :n]), **extra)
                for row, (n, extra) in enumerate(zip(lengths, fields))]

    def save(self, folder: str | Path) -> Path:
        """Write the weights and config (safetensors) and the pruning method into folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        save_method(self.method, folder)
        return folder


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Where a classifier runs: "auto" is the GPU when one is present (cuda), else the CPU; otherwise any name torch
    knows ("cpu", "cuda", "cuda:1", "mps"). A ValueError names a device that is unknown or not present."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a device: use 'auto', 'cpu', 'cuda' or 'cuda:N'.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}: no CUDA GPU is available here; use 'auto' or 'cpu'.")
    return resolved


def read_config(source: str | Path) -> PretrainedConfig:
    """The transformers config of a model folder or hub id; ModelLoadError when there is no model there."""
    source = str(source)
    if not Path(source).exists() and (source.startswith((".", "/", "~")) or source.count("/") > 1):
        raise ModelLoadError(f"No model folder at {source!r}.")
    try:
        return AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as error:
        where = "folder" if Path(source).exists() else "folder or reachable hub id"
        raise ModelLoadError(f"{source!r} is not a model {where}: {first_line(error)}") from error


def first_line(error: Exception) -> str:
    """An error's first line, for messages that must stay one line long."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
