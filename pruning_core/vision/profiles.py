"""Run sizes for the CIFAR-10 ViT: `quick` (a demo in about 10 minutes on any 2 CPU cores) and `cpu`
(the study, about 80 minutes on 2 cores), both sized to a wall-clock budget on the machine they run on.

The `cpu` model follows the vision study: 8 layers, 145 tokens (32x32 pictures resized to 48x48,
4x4 patches: a 12 x 12 grid plus CLS), pruned by the schedule keep(l) = 1 - r_max * ((l + 1) / L) ** alpha
with r_max 0.6 and alpha swept over ALPHAS. Hidden 128, 2 heads, a wide MLP (768, ratio 6) and a
convolutional stem in place of the linear patch embedding (backbone.py). A layer attends over the
patches it received but runs its MLP only on those it keeps, so the MLP's share of the work is what
pruning saves most of. The `quick` model is the same at 32x32 (an 8 x 8 grid, 65 tokens): about 2x
cheaper per step, so a demo of a few minutes sees more pictures.

A run trains once on every patch up to `prune_after_epochs` (the `cpu` run's first `low_res_epochs` on
the cheaper 8 x 8 grid, then on the full one), forks, and continues the copies on the same batches:
`unpruned`, `pruned` (the train_alpha schedule), `distilled` (the same schedule, also learning the
unpruned copy's predictions: `Distillation`) and, in the `cpu` study, `merged` (token merging down to the same
row counts as the train_alpha schedule: methods/merge.py). Training first takes `validation_limit` images (5,000: the
usual 45,000/5,000 division of CIFAR-10's training split) out of the training split; each model is scored on
them after training, and only the benchmark (every model under every alpha) and the traces see test images.

Budgets: `budget_minutes` scales the profile's epochs, low-resolution and fork points together so that
training and evaluation fit, from a few timed steps of each stretch (budget.py). Training uses bf16
autocast where the CPU computes bf16 natively (AMX, AVX512-BF16) and fp32 elsewhere: an 80-minute run
covers about 3x more epochs on the former. Measured step times at batch 128, 2 quiet cores:
Intel Xeon (Ice Lake, AVX-512, fp32): 0.93 s on the 8 x 8 grid, 1.90 s on the 12 x 12 grid, 3.38 s for
the three forks together; Intel with AMX, bf16: 0.72 s on the 12 x 12 grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from transformers import ViTConfig

from .budget import StepSeconds, run_seconds
from .model import vit_config
from ..distillation import Distillation
from .training import VisionTrainConfig

ALPHAS = (0.8, 1.0, 1.2, 1.5, 2.0)


@dataclass(frozen=True)
class VisionProfile:
    name: str
    hidden_size: int
    num_heads: int
    intermediate_size: int
    train_limit: int | None               # training images (class-balanced sample); None = all left after validation
    eval_limit: int | None                # test images scored per setting by the benchmark; None = all 10,000
    trace_limit: int                      # test images traced into the database
    train: VisionTrainConfig
    prune_after_epochs: float             # warm-up epochs on every patch; the pruned models fork off here
    image_size: int = 48                  # the model's picture size: 48 -> 12 x 12 patches, 32 -> 8 x 8
    num_layers: int = 8
    stem: str = "conv"
    r_max: float = 0.6
    train_alpha: float = 1.2              # the schedule the pruned models are trained with
    alphas: tuple[float, ...] = ALPHAS    # swept at inference, on every model
    score: str = "cls"
    distillation: Distillation | None = Distillation()   # None: no `distilled` model
    merging: bool = True                  # a `merged` fork (token merging at train_alpha) and merging at inference
    budget_minutes: float | None = None   # scale the epochs to fit this much training and evaluation
    bench_speed_batches: int = 4          # batches of 32 test images timed per round
    bench_latency_examples: int = 16      # single images timed per round
    bench_rounds: int = 3
    # Validation images held out of the training split (class-balanced): every model is scored on them after
    # training; test images appear only in the traces and the benchmark. The split's seed is the profile's,
    # not the training run's, so every run of a profile holds out the same images.
    validation_limit: int = 5_000
    validation_seed: int = 0

    def __post_init__(self) -> None:
        if self.validation_limit < 1:
            raise ValueError(f"validation_limit must be at least 1 image, got {self.validation_limit!r}.")

    def model_config(self) -> ViTConfig:
        return vit_config(hidden_size=self.hidden_size, num_layers=self.num_layers, num_heads=self.num_heads,
                          intermediate_size=self.intermediate_size, image_size=self.image_size, stem=self.stem)

    def with_overrides(self, **changes) -> "VisionProfile":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def seconds(self, steps_per_epoch: int, step_seconds: StepSeconds) -> float:
        """Predicted training time, as sized now."""
        low_res = self.train.low_res_epochs if self.train.low_res_size else 0.0
        return run_seconds(steps_per_epoch, self.train.epochs, low_res, self.prune_after_epochs, step_seconds)

    def evaluation_seconds(self, step_seconds: StepSeconds) -> float:
        """Rough time to score every trained model on the validation set (a forward pass: ~1/3 of a step)."""
        models = 2 + (self.distillation is not None) + self.merging
        return models * math.ceil(self.validation_limit / self.train.batch_size) * step_seconds.full / 3

    def fit(self, steps_per_epoch: int, step_seconds: StepSeconds, spent_seconds: float = 0.0) -> "VisionProfile":
        """This profile with its epochs, low-resolution and fork points scaled together so that training and
        evaluation take what is left of `budget_minutes` after `spent_seconds` (loading, timing) at the measured
        speed (unchanged without a budget)."""
        if self.budget_minutes is None:
            return self
        training = self.budget_minutes * 60 - spent_seconds - self.evaluation_seconds(step_seconds)
        scale = max(training, 0.0) / self.seconds(steps_per_epoch, step_seconds)
        if self.train.epochs * scale * steps_per_epoch < 10:
            raise ValueError(f"A budget of {self.budget_minutes:g} minutes allows fewer than 10 training steps on "
                             f"this machine ({step_seconds.describe()}); give it more time.")
        train = replace(self.train, epochs=round(self.train.epochs * scale, 2),
                        low_res_epochs=round(self.train.low_res_epochs * scale, 2))
        return replace(self, train=train, prune_after_epochs=round(self.prune_after_epochs * scale, 2),
                       budget_minutes=None)

    def describe_plan(self, steps_per_epoch: int, step_seconds: StepSeconds, precision: str) -> str:
        """The run's stretches in epochs and predicted minutes."""
        low = self.train.low_res_epochs if self.train.low_res_size else 0.0
        parts = [f"{low:g} epochs on the cheaper {self.train.low_res_size}px grid"] if low else []
        parts += [f"{self.prune_after_epochs - low:g} on every patch of the full grid",
                  f"{self.train.epochs - self.prune_after_epochs:g} for the forks together"]
        minutes = (self.seconds(steps_per_epoch, step_seconds) + self.evaluation_seconds(step_seconds)) / 60
        return (f"{self.train.epochs:g} epochs of {steps_per_epoch * self.train.batch_size:,} pictures: "
                f"{', '.join(parts)}; about {minutes:.0f} minutes with the evaluation "
                f"({step_seconds.describe()}; {precision}).")


PROFILES: dict[str, VisionProfile] = {
    # A demo: the 8 x 8 grid (65 tokens), the 45,000 training pictures left beside the 5,000 validation ones,
    # sized to about 8 minutes of training and evaluation, then tracing 200 pictures and the benchmark.
    "quick": VisionProfile(
        name="quick", hidden_size=128, num_heads=2, intermediate_size=768, train_limit=None, eval_limit=None,
        trace_limit=200, image_size=32, budget_minutes=8, merging=False,
        train=VisionTrainConfig(epochs=2, batch_size=128, learning_rate=2e-3, warmup_epochs=0.2),
        prune_after_epochs=1.7),
    # The study: 60% of the epochs on the 8 x 8 grid, then the full 12 x 12 grid; the forks train the
    # last 15%, the pruned, distilled and merged models at alpha 0.8; the sweep reaches down to alpha 0.7.
    "cpu": VisionProfile(
        name="cpu", hidden_size=128, num_heads=2, intermediate_size=768, train_limit=None, eval_limit=None,
        trace_limit=1000, budget_minutes=80,
        train=VisionTrainConfig(epochs=10, batch_size=128, warmup_epochs=0.5, low_res_size=32, low_res_epochs=6),
        prune_after_epochs=8.5, train_alpha=0.8, alphas=(0.7, *ALPHAS), bench_rounds=5),
}
