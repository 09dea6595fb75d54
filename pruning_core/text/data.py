"""The study's text datasets (IMDb, AG News) from a local data directory or the Hugging Face hub.

Where the data comes from, in order (the rules live in `pruning_core.hub`, shared with CIFAR-10):
  1. a data directory holding `<dataset>/<split>.parquet` (columns `text`, `label`): the `data_dir`
     argument, else the `LENS_DATA_DIR` environment variable, else `../shared/datasets` beside the repo;
  2. the split's parquet file on the Hugging Face hub (`stanfordnlp/imdb`, `fancyzhx/ag_news`), downloaded
     once into the hub library's cache.
Anything else raises `DatasetUnavailableError`, whose message names both ways. Label names travel
with the data, and IMDb's `<br />` tags are removed (each would cost five tokens).
"""
from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow.parquet as pq

from .. import hub
from ..hub import SPLITS, DatasetUnavailableError  # noqa: F401  (re-exported: callers import them from here)


def _clean_imdb(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<br\s*/?>", " ", text)).strip()


def _clean_ag_news(text: str) -> str:
    # The corpus writes line breaks as a backslash and characters as "#36;" (a "$" whose "&" was lost).
    text = html.unescape(re.sub(r"&?#(\d+);", lambda m: chr(int(m.group(1))), text.replace("\\", " ")))
    return re.sub(r"\s+", " ", re.sub(r"</?[a-zA-Z][^>]*>", " ", text)).strip()


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label_names: tuple[str, ...]
    clean: Callable[[str], str]


DATASETS: dict[str, DatasetSpec] = {
    "imdb": DatasetSpec("imdb", ("negative", "positive"), _clean_imdb),
    "ag_news": DatasetSpec("ag_news", ("World", "Sports", "Business", "Sci/Tech"), _clean_ag_news),
}


@dataclass
class TextDataset:
    """Texts, integer labels and the names of those labels."""

    name: str
    split: str
    texts: list[str]
    labels: list[int]
    label_names: list[str]
    source: str = ""
    ids: list[int] | None = None   # each example's row in the split's file, so rows compared are checked by id

    def __post_init__(self) -> None:
        if self.ids is None:
            self.ids = list(range(len(self.texts)))

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, limit: int | None, seed: int = 0) -> TextDataset:
        """A class-balanced random subset of at most `limit` examples (all of them when limit is None)."""
        if limit is None or limit >= len(self):
            return self
        rng = random.Random(seed)
        by_class: dict[int, list[int]] = {}
        for index, label in enumerate(self.labels):
            by_class.setdefault(label, []).append(index)
        for indices in by_class.values():
            rng.shuffle(indices)
        # Deal from each class in turn so the subset stays balanced.
        chosen, rounds = [], max(len(v) for v in by_class.values())
        for position in range(rounds):
            for label in sorted(by_class):
                if position < len(by_class[label]) and len(chosen) < limit:
                    chosen.append(by_class[label][position])
        rng.shuffle(chosen)
        return self.subset(chosen)

    def split_off(self, limit: int, seed: int = 0) -> tuple[TextDataset, TextDataset]:
        """(a class-balanced seeded sample of `limit` examples, every other example): a validation split carved
        from training data, disjoint from what is left to train on."""
        if not 0 < limit < len(self):
            raise ValueError(f"split_off needs 0 < limit < {len(self)} examples, got limit={limit}.")
        taken = self.sample(limit, seed)
        chosen = set(taken.ids)
        return taken, self.subset([i for i, example_id in enumerate(self.ids) if example_id not in chosen])

    def subset(self, indices: list[int]) -> TextDataset:
        """The examples at these positions, in this order (ids travel with them)."""
        return replace(self, texts=[self.texts[i] for i in indices], labels=[self.labels[i] for i in indices],
                       ids=[self.ids[i] for i in indices])


def load_dataset(name: str, split: str = "test", data_dir: str | Path | None = None,
                 limit: int | None = None, seed: int = 0) -> TextDataset:
    """Load a split ('train' or 'test') of 'imdb' or 'ag_news', optionally a balanced sample of `limit`."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(DATASETS)}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; use {' or '.join(map(repr, SPLITS))}.")
    spec = DATASETS[name]
    path = hub.local_file(name, split, data_dir)
    if path is not None and path.is_file():
        frame, source = _read_text_table(path), str(path)
    else:
        frame, source = _from_hub(name, split, path), str(hub.hub_file(name, split))
    dataset = _to_dataset(spec, split, frame, source)
    return dataset.sample(limit, seed)


def training_splits(name: str, data_dir: str | Path | None = None, train_limit: int | None = None,
                    validation_limit: int = 1000, seed: int = 0) -> tuple[TextDataset, TextDataset]:
    """(training sample, validation split), both from the training split: the seeded class-balanced validation
    examples are carved first, the training sample (at most train_limit) is drawn from the rest. Every choice
    made while training uses the validation split; the test split stays for the final tables."""
    validation, rest = load_dataset(name, "train", data_dir).split_off(validation_limit, seed)
    return rest.sample(train_limit, seed), replace(validation, split="validation")


def _to_dataset(spec: DatasetSpec, split: str, frame: pd.DataFrame, source: str) -> TextDataset:
    missing = {"text", "label"} - set(frame.columns)
    if missing:
        raise DatasetUnavailableError(f"{source} lacks the column(s) {', '.join(sorted(missing))}.")
    labels = [int(label) for label in frame["label"]]
    bad = sorted({label for label in labels if not 0 <= label < len(spec.label_names)})
    if bad:
        raise DatasetUnavailableError(f"{source} has labels {bad} outside 0..{len(spec.label_names) - 1}.")
    texts = [spec.clean(str(text)) for text in frame["text"]]
    keep = [i for i, text in enumerate(texts) if text]   # an empty text cannot be classified
    return TextDataset(spec.name, split, [texts[i] for i in keep], [labels[i] for i in keep],
                       list(spec.label_names), source, ids=keep)


def _from_hub(name: str, split: str, local: Path | None) -> pd.DataFrame:
    return _read_text_table(hub.fetch(name, split, local))


def _read_text_table(path: Path) -> pd.DataFrame:
    # Only the two columns we use (the local IMDb copy also has rating and id); a missing one is left for
    # _to_dataset to name.
    present = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[column for column in ("text", "label") if column in present])
