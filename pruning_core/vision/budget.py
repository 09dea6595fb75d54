"""Sizing a training run to a wall-clock budget from this machine's measured speed.

CPUs differ by up to 6x in training speed (native bf16 or not, AVX-512 or only AVX2), so a run sized
in epochs takes 90 minutes on one machine and 9 hours on another. Instead, a few steps of each kind
the run takes are timed here, and the run's epochs are scaled to fit the budget (`VisionProfile.fit`).
A run has three stretches: the cheaper grid (low resolution), the full grid on every patch, then the
forks (the unpruned teacher and its pruned students, stepping together).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Sequence

from torch import Tensor

from ..methods import PruningMethod
from .model import PrunedVisionClassifier
from ..distillation import Distillation
from .training import VisionTrainConfig, VisionTrainer, train_alongside


@dataclass(frozen=True)
class StepSeconds:
    """Measured seconds per training step of each stretch."""

    low_res: float   # one unpruned step on the cheaper grid
    full: float      # one unpruned step on the full grid
    forks: float     # one step of the teacher and all its students together

    def describe(self) -> str:
        return f"{self.low_res:.2f} s per step on the cheaper grid, {self.full:.2f} s on the full grid, " \
               f"{self.forks:.2f} s for the forks together"


def run_seconds(steps_per_epoch: int, epochs: float, low_res_epochs: float, fork_epochs: float,
                seconds: StepSeconds) -> float:
    """Predicted training time of a run: [0, low_res) cheap grid, [low_res, fork) full grid, [fork, end) forks."""
    low = min(low_res_epochs, fork_epochs)
    return steps_per_epoch * (low * seconds.low_res + (fork_epochs - low) * seconds.full
                              + (epochs - fork_epochs) * seconds.forks)


def time_steps(trainers: Sequence[VisionTrainer], steps: int) -> float:
    """Seconds per step of the trainers stepping together (the first one teaches): the fastest of `steps`
    timed steps after one untimed one, so that another process busy for a moment does not shrink the run."""
    teacher, *students = trainers
    train_alongside(teacher, students, (teacher.step + 1) / teacher.steps_per_epoch, description="warming up")
    times = []
    for _ in range(steps):
        began = time.perf_counter()
        train_alongside(teacher, students, (teacher.step + 1) / teacher.steps_per_epoch, description="timing")
        times.append(time.perf_counter() - began)
    return min(times)


def measure_step_seconds(classifier: PrunedVisionClassifier, pixels: Tensor, labels: Tensor,
                         config: VisionTrainConfig, forks: Sequence[tuple[PruningMethod, Distillation | None]],
                         steps: int = 4) -> StepSeconds:
    """Time a few steps of each stretch on copies of the classifier (left untouched) with this run's batches."""
    room = 3 * (steps + 1) / max(1, len(labels) // config.batch_size) + 1   # epochs enough for every stretch
    probe = replace(config, epochs=room, max_steps=None, low_res_epochs=room)
    trainer = VisionTrainer(classifier, pixels, labels, probe).fork(classifier.method)
    low_res = time_steps([trainer], steps) if config.low_res_size else 0.0
    trainer.low_res_steps = 0
    full = time_steps([trainer], steps)
    students = [trainer.fork(method, distillation) for method, distillation in forks]
    return StepSeconds(low_res, full, time_steps([trainer, *students], steps))
