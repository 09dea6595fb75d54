"""CIFAR-10 from a local data directory (`cifar10/{train,test}.parquet`, JPEG bytes) or the Hugging Face hub.

Where the data comes from, in order (the rules live in `pruning_core.hub`, shared with the text
datasets): the `data_dir` argument, else the `LENS_DATA_DIR` environment variable, else
`../shared/datasets` beside the repository; then the split's parquet file on the hub (`uoft-cs/cifar10`,
PNG bytes), downloaded once into the hub library's cache. Images are decoded once into a uint8 tensor
(N, 3, 32, 32): 50,000 take about 8 s and 150 MB.

CIFAR-10 has no validation split, so `load_cifar10_training` carves one out of the training split
(class-balanced, seeded, disjoint from the training images): every choice made during training is
made on it, and the test split is left to the final tables.
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

    @property
    def ids(self) -> list[int]:
        """Each image's position in the full split, as stored rows carry it (e.g. a benchmark's example_ids)."""
        return self.split_indices().tolist()

    def split_indices(self) -> Tensor:
        """(N,) each image's position in the full split."""
        return torch.arange(len(self)) if self.indices is None else self.indices

    def subset(self, positions: Tensor) -> "ImageDataset":
        """The images at these positions (K,) of this dataset, in this order; each keeps its place in the split."""
        return replace(self, pixels=self.pixels[positions], labels=self.labels[positions],
                       indices=self.split_indices()[positions])

    def sample(self, limit: int | None, seed: int = 0) -> "ImageDataset":
        """A class-balanced random subset of at most `limit` images, shuffled (all of them when None)."""
        if limit is None or limit >= len(self):
            return self
        return self.subset(self._balanced_positions(limit, seed))

    def hold_out(self, size: int, seed: int = 0) -> tuple["ImageDataset", "ImageDataset"]:
        """(the rest, in their order; a class-balanced random sample of `size` images): two disjoint sets
        that together hold every image, e.g. training images and a validation set carved from them."""
        if not 0 < size < len(self):
            raise ValueError(f"size must hold at least one image and leave one, between 1 and {len(self) - 1} "
                             f"for {len(self)} images; got {size!r}.")
        held = self._balanced_positions(size, seed)
        rest = torch.ones(len(self), dtype=torch.bool)
        rest[held] = False
        return self.subset(torch.nonzero(rest).flatten()), self.subset(held)

    def _balanced_positions(self, limit: int, seed: int) -> Tensor:
        """(limit,) positions of a class-balanced random sample, shuffled."""
        generator = torch.Generator().manual_seed(seed)
        classes = self.labels.unique().tolist()
        picks, deal_order = [], []
        for position, label in enumerate(classes):
            indices = torch.nonzero(self.labels == label).flatten()
            picks.append(indices[torch.randperm(len(indices), generator=generator)])
            # Deal one image from each class in turn, so any prefix stays balanced.
            deal_order.append(torch.arange(len(indices)) * len(classes) + position)
        chosen = torch.cat(picks)[torch.cat(deal_order).argsort()][:limit]
        return chosen[torch.randperm(len(chosen), generator=generator)]


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


def load_cifar10_training(data_dir: str | Path | None = None, validation_size: int = 5_000,
                          train_limit: int | None = None, seed: int = 0, validation_seed: int = 0
                          ) -> tuple[ImageDataset, ImageDataset]:
    """CIFAR-10's training split in two disjoint parts: (training images, validation images).

    The validation set is a class-balanced sample of `validation_size` images held out with `validation_seed`
    (so every run of a profile holds out the same ones); the training images are a balanced sample of
    `train_limit` of the rest (all of them when None). Test images are never touched."""
    rest, validation = load_cifar10("train", data_dir).hold_out(validation_size, validation_seed)
    return rest.sample(train_limit, seed), validation


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
