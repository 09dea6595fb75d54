"""Tiny ViTs (hidden 32) and made-up pictures for the vision tests: no downloads, no datasets."""
from __future__ import annotations

import io

import torch
from PIL import Image

from pruning_core.vision import PrunedVisionClassifier, vit_config


def make_vit(num_layers: int = 3, image_size: int = 48, patch_size: int = 4, num_labels: int = 3,
             method=None, seed: int = 0, stem: str = "patch") -> PrunedVisionClassifier:
    """145 tokens by default (a 12 x 12 grid of patches + CLS), like the vision study."""
    config = vit_config(hidden_size=32, num_layers=num_layers, num_heads=4, intermediate_size=37,
                        source_size=32, image_size=image_size, patch_size=patch_size,
                        label_names=[f"class{i}" for i in range(num_labels)], stem=stem)
    config.initializer_range = 0.3   # sharper attention than the default 0.02, so scores differ
    return PrunedVisionClassifier.from_config(config, method, seed=seed)


def random_pixels(batch: int = 4, size: int = 32, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=generator)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()

