"""What text and vision training share: a stage's result, the step callback and the precision rule
(pruning_core.text.training, pruning_core.vision.training)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch


@dataclass
class TrainResult:
    steps: int
    mean_loss: float
    final_loss: float
    keep_fractions: list[float] = field(default_factory=list)  # soft mode: mean mask per layer, last steps
    first_batch: int = 0      # where in the stream of batches the stage started
    examples: int = 0         # training examples this process saw (repeats counted)
    precision: str = "fp32"   # "bf16": the forward passes ran under bf16 autocast (weights fp32)

    def as_dict(self) -> dict:
        return {"steps": self.steps, "mean_loss": self.mean_loss, "final_loss": self.final_loss,
                "keep_fractions": self.keep_fractions, "first_batch": self.first_batch, "examples": self.examples,
                "precision": self.precision}


StepCallback = Callable[[int, int], None]   # on_step(steps done, total steps), after every optimizer step


PRECISIONS = ("auto", "fp32", "bf16")


def fast_bf16(device: torch.device) -> bool:
    """True where bfloat16 matrix products run natively: CPUs with AVX512-BF16/AMX, GPUs that support it.

    There, bf16 autocast trains the CIFAR-10 ViT about 1.35x faster (55 -> 75 img/s on 2 AMX cores) and the IMDb
    MiniLM about 1.85x (unpruned step of 16 reviews: 3.1 -> 1.7 s on 2 AVX512-BF16 cores); elsewhere bf16 is
    emulated and slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None) if device.type == "cpu" else None
    return bool(probe and probe())


def check_precision(precision: str) -> str:
    """The precision, or a ValueError naming it where it is not one of PRECISIONS (training configs' check)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}.")
    return precision


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Whether training runs under bf16 autocast (weights stay fp32): "bf16", or "auto" where `fast_bf16`."""
    return check_precision(precision) == "bf16" or (precision == "auto" and fast_bf16(device))
