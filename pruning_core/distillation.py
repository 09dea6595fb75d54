"""Learning from a teacher's predictions as well as from the labels (Hinton et al. 2015), one rule for text and
vision: a pruned student distils from the unpruned model trained on the same examples."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Distillation:
    """loss = (1 - weight) * CE(labels) + weight * T^2 * KL(teacher || student at temperature T)
    + feature_weight * MSE(final CLS features) (DynamicViT adds the teacher's features; images only)."""

    weight: float = 0.5
    temperature: float = 1.0
    feature_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"Distillation weight must lie in [0, 1], got {self.weight!r}.")
        if self.temperature <= 0:
            raise ValueError(f"Distillation temperature must be positive, got {self.temperature!r}.")
        if self.feature_weight < 0:
            raise ValueError(f"Distillation feature_weight must be >= 0, got {self.feature_weight!r}.")

    def loss(self, label_loss: Tensor, logits: Tensor, teacher_logits: Tensor, feature: Tensor | None = None,
             teacher_feature: Tensor | None = None) -> Tensor:
        """The student's loss from its label loss, its logits (B, C) and the teacher's (B, C) (and (B, D) features)."""
        loss = (1 - self.weight) * label_loss + self.weight * distillation_loss(logits, teacher_logits, self.temperature)
        if self.feature_weight and feature is not None and teacher_feature is not None:
            loss = loss + self.feature_weight * torch.nn.functional.mse_loss(feature, teacher_feature.detach())
        return loss


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """T^2 * KL(teacher || student) between temperature-softened predictions, (B, C) x 2 -> scalar; the
    teacher's side carries no gradient."""
    student = torch.log_softmax(student_logits / temperature, dim=-1)
    teacher = torch.log_softmax(teacher_logits.detach() / temperature, dim=-1)
    return torch.nn.functional.kl_div(student, teacher, log_target=True, reduction="batchmean") * temperature ** 2
