"""The optimizer's parameter groups, one rule for text and vision.

Weight decay pulls weight matrices towards zero; on a bias, a norm's scale or a free token (ViT's CLS
and position embeddings) it only fights what the layer needs, so those are exempt. The method's own
parameters (thresholds, scorers) learn at their own rate, without decay.
"""
from __future__ import annotations

from torch import nn

from .classifier import PrunedClassifier

DECAYED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Embedding)   # whose `weight` decays


def parameter_groups(classifier: PrunedClassifier, learning_rate: float, method_learning_rate: float,
                     weight_decay: float) -> list[dict]:
    """AdamW groups: the method's parameters; the model's decayed weights; the model's exempt parameters."""
    decay, exempt = [], []
    for module in classifier.model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            if parameter.requires_grad:
                decays = isinstance(module, DECAYED_LAYERS) and name == "weight"
                (decay if decays else exempt).append(parameter)
    groups = [{"params": [p for p in classifier.method.parameters() if p.requires_grad],
               "lr": method_learning_rate, "weight_decay": 0.0},
              {"params": decay, "lr": learning_rate, "weight_decay": weight_decay},
              {"params": exempt, "lr": learning_rate, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]
