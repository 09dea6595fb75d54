"""Save and load a pruned ViT classifier as a folder.

The folder holds the transformers ViT config (with the picture settings: source_size, image_mean,
image_std) and weights as safetensors, and the pruning method (see pruning_core.methods.io): the
same layout as text models. Nothing is unpickled.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import ViTConfig

from ..classifier import ModelLoadError, resolve_device
from ..methods import PruningMethod, has_method, load_method
from .backbone import StemViT
from .model import PrunedVisionClassifier


def save_vision_classifier(classifier: PrunedVisionClassifier, folder: str | Path) -> Path:
    """Write weights, config and the pruning method into folder (`classifier.save`)."""
    return classifier.save(folder)


def load_vision_classifier(folder: str | Path, method: PruningMethod | None = None,
                           device: str | torch.device = "auto") -> PrunedVisionClassifier:
    """Load a classifier saved by `save_vision_classifier` onto `device` ("auto": the GPU when present, else the
    CPU); its pruning method comes back unless `method` overrides it."""
    target = resolve_device(device)
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"No saved vision model at {str(folder)!r} (config.json is missing).")
    try:
        config = ViTConfig.from_pretrained(folder)
        if config.model_type != "vit":
            raise ValueError(f"it holds a {config.model_type!r} model, not a ViT")
        model = StemViT.from_pretrained(folder, config=config, use_safetensors=True)
    except (OSError, ValueError, SafetensorError) as error:   # SafetensorError: corrupt weights
        raise ModelLoadError(f"Could not load the vision model at {str(folder)!r}: {error}") from error
    if method is None and has_method(folder):
        method = load_method(folder)
    return PrunedVisionClassifier(model.eval(), method).to(target)
