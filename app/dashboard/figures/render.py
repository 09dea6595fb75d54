"""Pictures of what a pruned ViT kept: dropped patches greyed out (for pages and reports)."""
from __future__ import annotations

import numpy as np
from PIL import Image

GREY = 200.0  # the light grey dropped patches fade to


def grey_out(image: Image.Image, alive: np.ndarray, strength: float = 0.85) -> Image.Image:
    """Fade the dropped patches of a square image toward light grey.

    alive: (rows, cols) bool, e.g. `trace.patch_mask(layer)`; the image is split into that grid
    (any size works; a 12 x 12 grid on a 32-pixel picture gives uneven cells, as the model's resize does).
    """
    if alive.ndim != 2:
        raise ValueError(f"alive must be a (rows, cols) grid, got shape {alive.shape}.")
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = pixels.shape[:2]
    rows, cols = alive.shape
    row_of = np.arange(height) * rows // height
    col_of = np.arange(width) * cols // width
    dropped = ~alive[row_of[:, None], col_of[None, :]]
    faded = pixels * (1.0 - strength) + GREY * strength
    out = np.where(dropped[..., None], faded, pixels)
    return Image.fromarray(out.round().clip(0, 255).astype(np.uint8))


def enlarge(image: Image.Image, size: int = 192) -> Image.Image:
    """A small picture (e.g. 32 x 32 CIFAR) scaled up with crisp pixels, for display."""
    return image.resize((size, size), Image.Resampling.NEAREST)


def paint_groups(image: Image.Image, holders: np.ndarray) -> Image.Image:
    """Paint each group of merged patches with its mean colour, the way ToMe pictures its merges.

    holders: (rows, cols) int, the patch whose row holds each patch (`trace.groups(layer)[1:]`, less one: patch
    numbers); patches holding only themselves keep their pixels."""
    if holders.ndim != 2:
        raise ValueError(f"holders must be a (rows, cols) grid, got shape {holders.shape}.")
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = pixels.shape[:2]
    rows, cols = holders.shape
    cell = holders[(np.arange(height) * rows // height)[:, None], (np.arange(width) * cols // width)[None, :]]
    labels = cell.ravel()
    sums = np.zeros((rows * cols, 3))
    np.add.at(sums, labels, pixels.reshape(-1, 3))
    counts = np.bincount(labels, minlength=rows * cols)[:, None]
    means = sums / np.maximum(counts, 1)
    alone = np.bincount(holders.ravel(), minlength=rows * cols) == 1
    out = np.where(alone[cell][..., None], pixels, means[cell])
    return Image.fromarray(out.round().clip(0, 255).astype(np.uint8))

