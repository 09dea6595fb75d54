"""CIFAR-10 from a local data directory (`cifar10/{train,test}.parquet`, JPEG bytes) or the Hugging Face hub.

Where the data comes from, in order (the rules live in `pruning_core.hub`, shared with the text
datasets): the `data_dir` argument, else the `LENS_DATA_DIR` environment variable, else
`../shared/datasets` beside the repository; then the split's parquet file on the hub (`uoft-cs/cifar10`,
PNG bytes), downloaded once into the hub library's cache. Images are decoded once into a uint8 tensor
(N, 3, 32, 32): 50,000 take about 8 s and 150 MB.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import Tensor

from .. import hub
from ..hub import SPLITS, DatasetUnavailableError
from .model import CIFAR10_CLASSES

DATASET = "cifar10"   # its folder in the data directory and its key in hub.HUB_FILES


@dataclass
class ImageDataset:
    """Decoded images with integer labels and the names of those labels."""

    pixels: Tensor          # uint8 (N, 3, H, W)
    labels: Tensor          # int64 (N,)
    class_names: list[str]
    split: str
    source: str = ""
    indices: Tensor | None = None   # each image's position in the full split (None: in order)

    def __len__(self) -> int:
        return int(self.labels.numel())

    def image(self, index: int) -> Image.Image:
        """One picture as a PIL image (e.g. for a page to show)."""
        return Image.fromarray(self.pixels[index].permute(1, 2, 0).numpy())

    def sample(self, limit: int | None, seed: int = 0) -> "ImageDataset":
        """A class-balanced random subset of at most `limit` images, shuffled (all of them when None)."""
        if limit is None or limit >= len(self):
            return self
        generator = torch.Generator().manual_seed(seed)
        classes = self.labels.unique().tolist()
        picks, deal_order = [], []
        for position, label in enumerate(classes):
            indices = torch.nonzero(self.labels == label).flatten()
            picks.append(indices[torch.randperm(len(indices), generator=generator)])
            # Deal one image from each class in turn, so any prefix stays balanced.
            deal_order.append(torch.arange(len(indices)) * len(classes) + position)
        chosen = torch.cat(picks)[torch.cat(deal_order).argsort()][:limit]
        chosen = chosen[torch.randperm(len(chosen), generator=generator)]
        return replace(self, pixels=self.pixels[chosen], labels=self.labels[chosen],
                       indices=self.split_indices()[chosen])

    def split_indices(self) -> Tensor:
        """(N,) each image's position in the full split."""
        return torch.arange(len(self)) if self.indices is None else self.indices


def load_cifar10(split: str = "test", data_dir: str | Path | None = None, limit: int | None = None,
                 seed: int = 0) -> ImageDataset:
    """CIFAR-10's 'train' (50,000) or 'test' (10,000) split, optionally a balanced sample of `limit`."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use {' or '.join(map(repr, SPLITS))}.")
    path = hub.local_file(DATASET, split, data_dir)
    if path is not None and path.is_file():
        frame, source = pd.read_parquet(path), str(path)
    else:
        frame, source = _from_hub(split, path), str(hub.hub_file(DATASET, split))
    return frame_to_dataset(frame, split, source).sample(limit, seed)


def frame_to_dataset(frame: pd.DataFrame, split: str, source: str = "") -> ImageDataset:
    """A table with encoded images (`jpeg` bytes, or the hub's `img` {bytes, path}) and `label`."""
    if "jpeg" in frame.columns:
        encoded = frame["jpeg"]
    elif "img" in frame.columns:
        encoded = frame["img"].map(lambda cell: cell["bytes"])
    else:
        raise DatasetUnavailableError(f"{source or 'The table'} has no image column ('jpeg' or 'img').")
    if "label" not in frame.columns:
        raise DatasetUnavailableError(f"{source or 'The table'} has no 'label' column.")
    labels = torch.tensor(frame["label"].to_numpy(dtype=np.int64))
    if len(labels) and not (0 <= int(labels.min()) and int(labels.max()) < len(CIFAR10_CLASSES)):
        raise DatasetUnavailableError(f"{source} has labels outside 0..{len(CIFAR10_CLASSES) - 1}.")
    arrays = [np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8) for data in encoded]
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous() if arrays else \
        torch.zeros((0, 3, 32, 32), dtype=torch.uint8)
    return ImageDataset(pixels, labels, list(CIFAR10_CLASSES), split, source)


def _from_hub(split: str, local_path: Path | None) -> pd.DataFrame:
    # Its own function so that a test can stand in for the hub (tests/test_image_page.py does).
    return pd.read_parquet(hub.fetch(DATASET, split, local_path))
