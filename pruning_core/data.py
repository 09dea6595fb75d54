"""The study's text datasets (IMDb, AG News) from a local data directory or the Hugging Face hub.

Where the data comes from, in order:
  1. a data directory holding `<dataset>/<split>.parquet` (columns `text`, `label`): the `data_dir`
     argument, else the `LENS_DATA_DIR` environment variable, else `../shared/datasets` beside the repo;
  2. the Hugging Face hub (`stanfordnlp/imdb`, `fancyzhx/ag_news`), when the optional `datasets`
     package is installed and the hub is reachable.
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

from . import paths
from .paths import DATA_DIR_ENV



class DatasetUnavailableError(RuntimeError):
    """Neither the data directory nor the hub could provide the dataset; the message says how to fix it."""


def _clean_imdb(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<br\s*/?>", " ", text)).strip()


def _clean_ag_news(text: str) -> str:
    # The corpus writes line breaks as a backslash and characters as "#36;" (a "$" whose "&" was lost).
    text = html.unescape(re.sub(r"&?#(\d+);", lambda m: chr(int(m.group(1))), text.replace("\\", " ")))
    return re.sub(r"\s+", " ", re.sub(r"</?[a-zA-Z][^>]*>", " ", text)).strip()


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    hub_id: str
    label_names: tuple[str, ...]
    clean: Callable[[str], str]


DATASETS: dict[str, DatasetSpec] = {
    "imdb": DatasetSpec("imdb", "stanfordnlp/imdb", ("negative", "positive"), _clean_imdb),
    "ag_news": DatasetSpec("ag_news", "fancyzhx/ag_news", ("World", "Sports", "Business", "Sci/Tech"),
                           _clean_ag_news),
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
        return replace(self, texts=[self.texts[i] for i in chosen], labels=[self.labels[i] for i in chosen])


def load_dataset(name: str, split: str = "test", data_dir: str | Path | None = None,
                 limit: int | None = None, seed: int = 0) -> TextDataset:
    """Load a split ('train' or 'test') of 'imdb' or 'ag_news', optionally a balanced sample of `limit`."""
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(DATASETS)}.")
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; use 'train' or 'test'.")
    spec = DATASETS[name]
    folder = paths.data_dir(data_dir)
    path = folder / name / f"{split}.parquet" if folder is not None else None
    if path is not None and path.is_file():
        frame, source = pd.read_parquet(path, columns=["text", "label"]), str(path)
    else:
        frame, source = _from_hub(spec, split, path), f"hub:{spec.hub_id}"
    dataset = _to_dataset(spec, split, frame, source)
    return dataset.sample(limit, seed)


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
                       list(spec.label_names), source)


def _from_hub(spec: DatasetSpec, split: str, tried: Path | None) -> pd.DataFrame:
    where = f"no file at {tried}" if tried is not None else f"no data directory ({DATA_DIR_ENV} is unset)"
    advice = (f"Either put {spec.name}/{split}.parquet (columns text, label) in a data directory and pass "
              f"--data-dir or set {DATA_DIR_ENV}, or install the `datasets` package with the Hugging Face hub "
              f"reachable to download {spec.hub_id}.")
    try:
        import datasets
    except ImportError:
        raise DatasetUnavailableError(f"Cannot load {spec.name} {split}: {where}, and the `datasets` package "
                                      f"is not installed. {advice}") from None
    try:
        return datasets.load_dataset(spec.hub_id, split=split).to_pandas()
    except Exception as error:  # network, auth or cache errors all mean the same thing here
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatasetUnavailableError(f"Cannot load {spec.name} {split}: {where}, and the hub failed "
                                      f"({first_line}). {advice}") from error
