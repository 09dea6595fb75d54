"""Training a small ViT from scratch, with pruning switched on after warm-up epochs if asked.

There are no pretrained image weights offline, so the recipe is a from-scratch one: AdamW, linear
warm-up then cosine decay, label smoothing, random crops (4-pixel padding) and horizontal flips on
the uint8 pixels. The classifier's own method is the one trained with; during the first
`prune_after_epochs` epochs it is replaced by NoPruning (a warm-up on every patch), then switched on.
Runs through `accelerate`, like the text training: CPU by default, CUDA when present.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from ..methods import NoPruning
from ..training import TrainResult
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


def augment(pixels: Tensor, generator: torch.Generator, padding: int = 4) -> Tensor:
    """Random crops of the zero-padded images and random horizontal flips: uint8 (B, 3, H, W) -> same."""
    batch, _, height, width = pixels.shape
    padded = torch.nn.functional.pad(pixels, (padding,) * 4)
    shifts = torch.randint(0, 2 * padding + 1, (batch, 2), generator=generator).tolist()
    flips = torch.rand(batch, generator=generator) < 0.5
    crops = [padded[i, :, dy:dy + height, dx:dx + width] for i, (dy, dx) in enumerate(shifts)]
    out = torch.stack(crops)
    return torch.where(flips.view(batch, 1, 1, 1).to(out.device), out.flip(-1), out)


def train_vit(classifier: PrunedVisionClassifier, pixels: Tensor, labels: Tensor, config: VisionTrainConfig,
              prune_after_epochs: float = 0.0, description: str = "train vit") -> TrainResult:
    """Train on uint8 pixels (N, 3, H, W) and labels (N,); the method prunes from `prune_after_epochs` on."""
    if len(pixels) != len(labels) or len(labels) == 0:
        raise ValueError(f"Need as many labels as images, and at least one: got {len(pixels)} and {len(labels)}.")
    set_seed(config.seed)
    accelerator = Accelerator(kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    loader = DataLoader(TensorDataset(pixels, labels), batch_size=config.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(config.seed), drop_last=len(labels) > config.batch_size)
    target_method = classifier.method
    optimizer = torch.optim.AdamW(_parameter_groups(classifier, config))
    steps_per_epoch = len(loader)
    total = max(1, math.ceil(config.epochs * steps_per_epoch))
    total = min(total, config.max_steps) if config.max_steps else total
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(config.warmup_epochs * steps_per_epoch), total)
    model, optimizer, loader, scheduler = accelerator.prepare(classifier, optimizer, loader, scheduler)
    prune_from = int(prune_after_epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed + 1)
    losses, keep_history, step = [], [], 0
    progress = tqdm(total=total, desc=description, disable=not accelerator.is_local_main_process)
    model.train()
    while step < total:
        for batch_pixels, batch_labels in loader:
            classifier.method = target_method if step >= prune_from else NoPruning()
            if config.augment:
                batch_pixels = augment(batch_pixels, generator)
            output = model(classifier.pixel_values(batch_pixels))
            loss = torch.nn.functional.cross_entropy(output.logits, batch_labels,
                                                     label_smoothing=config.label_smoothing)
            if output.auxiliary_loss is not None:
                loss = loss + output.auxiliary_loss
            accelerator.backward(loss)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            if output.loop.keep_fractions:
                keep_history.append([float(k.detach()) for k in output.loop.keep_fractions])
            step += 1
            progress.update()
            progress.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}",
                                 pruning="on" if step > prune_from else "off")
            if step >= total:
                break
    progress.close()
    classifier.method = target_method
    classifier.eval()
    recent = keep_history[-20:]
    keep = [sum(column) / len(recent) for column in zip(*recent)] if recent else []
    return TrainResult(step, sum(losses) / len(losses), losses[-1], keep)


@torch.inference_mode()
def vision_accuracy(classifier: PrunedVisionClassifier, pixels: Tensor, labels: Tensor, batch_size: int = 256) -> float:
    """Share of images classified correctly (the method prunes as configured)."""
    if len(labels) == 0:
        return math.nan
    predictions = classifier.predict(pixels, batch_size=batch_size)
    return float((predictions == labels.cpu()).float().mean())


def _parameter_groups(classifier: PrunedVisionClassifier, config: VisionTrainConfig) -> list[dict]:
    """Method parameters apart; no weight decay on biases, norms, CLS and position embeddings."""
    method_params = [p for p in classifier.method.parameters() if p.requires_grad]
    decay, no_decay = [], []
    for name, parameter in classifier.model.named_parameters():
        if parameter.requires_grad:
            no_decay_here = parameter.dim() < 2 or ("embeddings" in name and "patch" not in name)
            (no_decay if no_decay_here else decay).append(parameter)
    groups = [{"params": method_params, "lr": config.method_learning_rate, "weight_decay": 0.0},
              {"params": decay, "lr": config.learning_rate, "weight_decay": config.weight_decay},
              {"params": no_decay, "lr": config.learning_rate, "weight_decay": 0.0}]
    return [group for group in groups if group["params"]]
