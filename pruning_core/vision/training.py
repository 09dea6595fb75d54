"""Training a small ViT from scratch, with pruning switched on after warm-up epochs.

There are no pretrained image weights offline, so the recipe is a from-scratch one: AdamW, linear
warm-up then cosine decay, label smoothing, random crops (4-pixel padding) and horizontal flips on
the uint8 pixels. A `VisionTrainer` is one run that can be advanced epoch by epoch and forked: train
the warm-up once on every patch, fork, then continue one copy unpruned and others with pruning on,
so the models share their first epochs, their data order and their learning-rate schedule;
`train_alongside` advances the unpruned copy as a teacher together with pruned students that distil
from its predictions on the same batches. The first epochs can run on a cheaper grid (smaller
pictures, position embeddings resized), progressive resizing as in "Fixing the train-test resolution
discrepancy" (Touvron et al. 2019). `train_vit` is the one-call form. Training runs on the classifier's device (move it to CUDA first
to use a GPU), under bf16 autocast where the hardware computes bf16 natively (weights stay fp32).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from ..distillation import Distillation
from ..methods import NoPruning, PruningMethod
from ..optim import parameter_groups
from ..training import StepCallback, TrainResult, check_precision, uses_bf16
from .model import PrunedVisionClassifier


@dataclass
class VisionTrainConfig:
    epochs: float = 10.0
    batch_size: int = 128
    learning_rate: float = 1e-3
    method_learning_rate: float = 2e-3   # learned thresholds (ltp): their own optimizer group
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    augment: bool = True                 # random crop (pad 4) + horizontal flip
    seed: int = 0
    max_steps: int | None = None         # stop early (tests, demos)
    precision: str = "auto"              # "fp32", "bf16" (autocast) or "auto": bf16 where the hardware is fast at it
    low_res_size: int | None = None      # train the first `low_res_epochs` on pictures this size: a cheaper grid
    low_res_epochs: float = 0.0          # (32 instead of 48 with patch 4: 65 tokens instead of 145, ~2.5x faster)

    def __post_init__(self) -> None:
        check_precision(self.precision)


@dataclass
class StepOutput:
    """What a training step's model said, detached: what a student distils from."""

    logits: Tensor    # (B, C)
    feature: Tensor   # (B, D) final normed CLS row


def augment(pixels: Tensor, generator: torch.Generator, padding: int = 4) -> Tensor:
    """Random crops of the zero-padded images and random horizontal flips: uint8 (B, 3, H, W) -> same."""
    batch, _, height, width = pixels.shape
    padded = torch.nn.functional.pad(pixels, (padding,) * 4)
    shifts = torch.randint(0, 2 * padding + 1, (batch, 2), generator=generator).tolist()
    flips = (torch.rand(batch, generator=generator) < 0.5).to(pixels.device)
    out = torch.stack([padded[i, :, dy:dy + height, dx:dx + width] for i, (dy, dx) in enumerate(shifts)])
    return torch.where(flips.view(batch, 1, 1, 1), out.flip(-1), out)


class VisionTrainer:
    """One training run over uint8 pixels (N, 3, H, W) and labels (N,), advanced with `train_until`.

    The classifier's method is the one trained with; its learned parameters (ltp) get their own
    optimizer group. Data order and augmentation depend only on (seed, epoch, step), so a fork sees
    exactly the batches the original would have seen, and trainers advanced together (`train_alongside`)
    see the same batch at every step. A trainer with a `distillation` learns from a teacher's outputs too.
    """

    def __init__(self, classifier: PrunedVisionClassifier, pixels: Tensor, labels: Tensor, config: VisionTrainConfig,
                 distillation: Distillation | None = None):
        if len(pixels) != len(labels) or len(labels) == 0:
            raise ValueError(f"Need as many labels as images, and at least one: got {len(pixels)} and {len(labels)}.")
        self.classifier, self.pixels, self.labels, self.config = classifier, pixels, labels, config
        self.distillation = distillation
        self.steps_per_epoch = max(1, len(labels) // config.batch_size)   # the last partial batch is dropped
        total = max(1, math.ceil(config.epochs * self.steps_per_epoch))
        self.total_steps = min(total, config.max_steps) if config.max_steps else total
        self.low_res_steps = math.ceil(config.low_res_epochs * self.steps_per_epoch) if config.low_res_size else 0
        groups = parameter_groups(classifier, config.learning_rate, config.method_learning_rate, config.weight_decay)
        self.optimizer = torch.optim.AdamW(groups, fused=True)
        self.scheduler = get_cosine_schedule_with_warmup(
            self.optimizer, int(config.warmup_epochs * self.steps_per_epoch), self.total_steps)
        self.bf16 = uses_bf16(config.precision, classifier.device)
        self.step = 0
        self.losses: list[float] = []
        self.keep_history: list[list[float]] = []

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    def end_step(self, epochs: float | None = None) -> int:
        """The step `epochs` ends at (default: the run's last), never past the run's end."""
        return self.total_steps if epochs is None else min(self.total_steps, math.ceil(epochs * self.steps_per_epoch))

    def train_until(self, epochs: float | None = None, prune: bool = True, description: str = "train vit",
                    on_step: StepCallback | None = None) -> TrainResult:
        """Train up to `epochs` (default: the configured total); prune=False runs this stretch on every patch.

        on_step(done, total) follows this stretch: its steps done so far and its length."""
        method = self.classifier.method
        if not prune:
            self.classifier.method = NoPruning()
        try:
            for _ in _stretch([self], self.end_step(epochs), description, on_step):
                self.train_step()
        finally:
            self.classifier.method = method
        return self.result()

    def fork(self, method: PruningMethod, distillation: Distillation | None = None) -> "VisionTrainer":
        """A copy of this run (weights, optimizer state, schedule, position) whose classifier uses `method`,
        distilling from a teacher when `distillation` is given (see `train_alongside`)."""
        if any(True for _ in method.parameters()):
            raise ValueError(f"{method.name!r} has learned parameters: give the classifier that method before "
                             "creating the trainer, and use train_until(..., prune=False) for the warm-up.")
        shared = {id(self.pixels): self.pixels, id(self.labels): self.labels}   # the data is not copied
        twin = copy.deepcopy(self, memo=shared)
        twin.classifier.method = method
        twin.distillation = distillation
        return twin

    def result(self) -> TrainResult:
        recent = self.keep_history[-20:]
        keep = [sum(column) / len(recent) for column in zip(*recent)] if recent else []
        losses = self.losses or [math.nan]
        return TrainResult(self.step, sum(losses) / len(losses), losses[-1], keep)

    def picture_size(self) -> int | None:
        """The size this step's pictures are resized to (None: the model's own)."""
        return self.config.low_res_size if self.step < self.low_res_steps else None

    def train_step(self, teacher: StepOutput | None = None) -> StepOutput:
        """One optimizer step on this step's batch; a trainer with a distillation needs the teacher's outputs
        on the same batch. Returns this model's outputs, detached."""
        if (teacher is None) != (self.distillation is None):
            raise ValueError("A trainer distils exactly when it has a distillation: pass the teacher's outputs "
                             "then, and only then.")
        config, classifier = self.config, self.classifier
        epoch, position = divmod(self.step, self.steps_per_epoch)
        order = torch.randperm(len(self.labels), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
        index = order[position * config.batch_size:(position + 1) * config.batch_size]
        pixels, labels = self.pixels[index].to(classifier.device), self.labels[index].to(classifier.device)
        if config.augment:
            pixels = augment(pixels, torch.Generator().manual_seed(config.seed * 100_003 + self.step + 1))
        with torch.autocast(classifier.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            output = classifier(classifier.pixel_values(pixels, self.picture_size()))
            feature = classifier.feature(output).float()
        logits = output.logits.float()
        loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        if self.distillation is not None:
            loss = self.distillation.loss(loss, logits, teacher.logits, feature, teacher.feature)
        if output.auxiliary_loss is not None:
            loss = loss + output.auxiliary_loss.float()
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.losses.append(loss.item())
        if output.loop.keep_fractions:
            self.keep_history.append([float(k.detach()) for k in output.loop.keep_fractions])
        self.step += 1
        return StepOutput(logits.detach(), feature.detach())


def train_alongside(teacher: VisionTrainer, students: Sequence[VisionTrainer], epochs: float | None = None,
                    description: str = "teacher and students", on_step: StepCallback | None = None
                    ) -> list[TrainResult]:
    """Advance a teacher and its students step by step on the same batches: at every step the teacher
    trains first, and each student with a distillation learns from the teacher's outputs on that very
    batch (detached: no gradient reaches the teacher). Results: the teacher's, then each student's."""
    trainers = [teacher, *students]
    if len({trainer.step for trainer in trainers}) > 1 or len({trainer.total_steps for trainer in trainers}) > 1:
        raise ValueError("Trainers advanced together must stand at the same step of runs of the same length.")
    for _ in _stretch(trainers, teacher.end_step(epochs), description, on_step):
        taught = teacher.train_step()
        for student in students:
            student.train_step(taught if student.distillation is not None else None)
    return [trainer.result() for trainer in trainers]


def _stretch(trainers: Sequence[VisionTrainer], end: int, description: str,
             on_step: StepCallback | None) -> Iterator[int]:
    """Yield once per step until the first trainer reaches `end`, with the models in training mode, a
    progress bar and on_step(done, total) after each step."""
    lead = trainers[0]
    first = lead.step
    for trainer in trainers:
        trainer.classifier.train()
    try:
        with tqdm(total=end - first, desc=description, disable=end <= first) as progress:
            while lead.step < end:
                yield lead.step
                recent = lead.losses[-20:]
                progress.update()
                progress.set_postfix(loss=f"{sum(recent) / len(recent):.3f}", epoch=f"{lead.epoch:.2f}")
                if on_step is not None:
                    on_step(lead.step - first, end - first)
    finally:
        for trainer in trainers:
            trainer.classifier.eval()


def train_vit(classifier: PrunedVisionClassifier, pixels: Tensor, labels: Tensor, config: VisionTrainConfig,
              prune_after_epochs: float = 0.0, description: str = "train vit") -> TrainResult:
    """Train for config.epochs; the classifier's method prunes from `prune_after_epochs` on (0: throughout)."""
    trainer = VisionTrainer(classifier, pixels, labels, config)
    if prune_after_epochs > 0:
        trainer.train_until(prune_after_epochs, prune=False, description=f"{description} (warm-up)")
    return trainer.train_until(description=description)


@torch.inference_mode()
def vision_accuracy(classifier: PrunedVisionClassifier, pixels: Tensor, labels: Tensor, batch_size: int = 256) -> float:
    """Share of images classified correctly (the method prunes as configured)."""
    if len(labels) == 0:
        return math.nan
    predictions = classifier.predict(pixels, batch_size=batch_size)
    return float((predictions == labels.cpu()).float().mean())

