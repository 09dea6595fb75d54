"""What the pipelines share: artifact paths, common command-line options, small file helpers."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pruning_core.classifier import ModelLoadError, PrunedClassifier, UnsupportedModelError
from pruning_core.text.data import DATASETS, DatasetUnavailableError
from pruning_core.paths import METRICS_FILE
from pruning_core.storage import RunNotFound, StoreBusy, StoreUnreadable

from pruning_core.text.profiles import PROFILES

# The one table of wings: each dataset's modality. Every stage (train, trace, benchmark, demo) runs a dataset through
# its wing's handler, looked up here: a new modality is a new library folder, a row here and a handler per stage.
WINGS: dict[str, tuple[str, ...]] = {"text": tuple(sorted(DATASETS)), "vision": ("cifar10",)}
IMAGE_DATASETS = WINGS["vision"]   # handled by pipelines/vision.py


def wing_of(dataset: str) -> str:
    """The wing ("text", "vision") a dataset belongs to."""
    for wing, datasets in WINGS.items():
        if dataset in datasets:
            return wing
    raise ValueError(f"Unknown dataset {dataset!r}; choose from {', '.join(d for ds in WINGS.values() for d in ds)}.")


def add_common(parser: argparse.ArgumentParser, dataset: bool = True, profile: bool = True) -> None:
    if dataset:
        parser.add_argument("--dataset", choices=[dataset for datasets in WINGS.values() for dataset in datasets],
                            required=True)
    if profile:
        parser.add_argument("--profile", choices=PROFILES, default="quick",
                            help="quick: a demo in minutes; cpu: on 2 cores, about 3 hours for both text datasets "
                                 "and 1.5 hours for the ViT (9 without native bf16); full: GPU")
    parser.add_argument("--data-dir", help="folder holding <dataset>/<split>.parquet (default: $LENS_DATA_DIR, "
                                           "else ../shared/datasets; else the Hugging Face hub)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--db", help="DuckDB file (default: <artifacts>/lens.duckdb)")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=2, default=float))
    os.replace(partial, path)


def publish_model(classifier: PrunedClassifier, metrics: dict, folder: Path) -> None:
    """Save the classifier and its metrics.json as folder (<artifacts>/models/<run>/<stage>), which appears only
    when complete: it is written under <artifacts>/tmp/, then moved into place, replacing any stale one."""
    partial = folder.parents[2] / "tmp" / f"{folder.parent.name}-{folder.name}"
    shutil.rmtree(partial, ignore_errors=True)   # whatever an interrupted run left there
    classifier.save(partial)
    write_json(partial / METRICS_FILE, metrics)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, folder)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn the errors a user can fix (missing data or model, unknown run, busy store) into one clear line."""
    try:
        yield
    except (DatasetUnavailableError, ModelLoadError, UnsupportedModelError, RunNotFound, StoreBusy,
            StoreUnreadable) as error:
        sys.exit(f"error: {error}")
