"""Which models the dashboard can offer, and loading them with clear messages.

A loadable model is any folder under `<artifacts>/models/` (at any depth) that holds `pruning.json`,
as written by `save_pruned`; a `metrics.json` beside it (accuracy, macro_f1, dataset, label_names...)
is shown when present. The packaged MiniLM-L6 is always offered too: its classification head is
untrained, so its predictions are random, and its label says so.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pruning_core import paths
from pruning_core.paths import METRICS_FILE
from pruning_core.text import ModelLoadError, PrunedTextClassifier, UnsupportedModelError, load_text_classifier
from pruning_core.text.io import PRUNING_CONFIG

PACKAGED_KEY = "packaged/all-MiniLM-L6-v2"
PACKAGED_LABEL = "MiniLM-L6, packaged (not fine-tuned)"


@dataclass(frozen=True)
class ModelEntry:
    """One model a page can offer."""

    key: str                    # stable id: the folder relative to <artifacts>/models, or PACKAGED_KEY
    label: str                  # what a menu shows
    path: Path | None           # the model folder; None for the packaged MiniLM-L6
    method: str                 # the pruning method saved with the model
    metrics: dict = field(default_factory=dict, hash=False, compare=False)
    stamp: float = 0.0          # pruning.json's modification time: a retrained folder is a new model

    @property
    def fine_tuned(self) -> bool:
        return self.path is not None


def discover_models(root: Path | None = None) -> list[ModelEntry]:
    """Trained text models under root/models (sorted by folder), then the packaged MiniLM-L6."""
    models = paths.models_dir(root)
    folders = [config.parent for config in sorted(models.rglob(PRUNING_CONFIG))] if models.is_dir() else []
    entries = [_entry(models, folder) for folder in folders if not is_vision_model(folder)]
    return [*entries, ModelEntry(PACKAGED_KEY, PACKAGED_LABEL, None, "none")]


def is_vision_model(folder: Path) -> bool:
    """A saved ViT (the image page's), which the text pages must not offer."""
    return read_json_object(folder / "config.json").get("model_type") == "vit"


def trained_models(entries: list[ModelEntry]) -> list[ModelEntry]:
    return [entry for entry in entries if entry.fine_tuned]


def default_model(entries: list[ModelEntry]) -> ModelEntry:
    """What a page starts on: a trained model that prunes, else any trained model, else the packaged one."""
    trained = trained_models(entries)
    pruning = [entry for entry in trained if entry.method != "none"]
    return (pruning or trained or entries)[0]


def with_method(entries: list[ModelEntry], method: str) -> list[ModelEntry]:
    """The models saved with a given pruning method ("ltp", "ts_dtp", "none"...)."""
    return [entry for entry in entries if entry.method == method]


def topk_base(entries: list[ModelEntry], dataset: str | None = None) -> ModelEntry:
    """What top-k is applied to by default: a trained unpruned baseline (of `dataset` if there is one), else any
    trained model, else the packaged one."""
    trained = trained_models(entries)
    return same_dataset_first(with_method(trained, "none") or trained or entries, dataset)[0]


def same_dataset_first(entries: list[ModelEntry], dataset: str | None) -> list[ModelEntry]:
    """entries, those trained on `dataset` first (stable otherwise)."""
    return sorted(entries, key=lambda entry: entry.metrics.get("dataset") != dataset) if dataset else list(entries)


def load_model(entry: ModelEntry) -> PrunedTextClassifier:
    """Load an entry's classifier; every failure becomes a ModelLoadError that says what to do."""
    where = "the packaged MiniLM-L6" if entry.path is None else f"the model folder {entry.path}"
    if entry.path is not None and not (entry.path / PRUNING_CONFIG).is_file():
        raise ModelLoadError(f"{where} is gone (no {PRUNING_CONFIG}); pick another model or rebuild it.")
    try:
        classifier = load_text_classifier(entry.path)
    except (ModelLoadError, UnsupportedModelError):
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:   # e.g. a corrupt pruning.json
        raise ModelLoadError(f"Could not load {where}: {type(error).__name__}: {error}") from error
    _name_labels(classifier, entry.metrics.get("label_names"))
    return classifier


def describe(entries: list[ModelEntry]) -> list[dict]:
    """One row per model for a table: what it is and how well it did."""
    rows = []
    for entry in entries:
        metrics = entry.metrics
        rows.append({
            "model": entry.key,
            "dataset": metrics.get("dataset", "—"),
            "method": entry.method,
            "accuracy": _number(metrics.get("accuracy")),
            "macro-F1": _number(metrics.get("macro_f1")),
            "classes": ", ".join(map(str, metrics.get("label_names", []))) or "—",
        })
    return rows


def _entry(models: Path, folder: Path) -> ModelEntry:
    key = folder.relative_to(models).as_posix()
    metrics = read_json_object(folder / METRICS_FILE)
    method = str(read_json_object(folder / PRUNING_CONFIG).get("method", "?"))
    details = [str(metrics["dataset"])] if metrics.get("dataset") else []
    if isinstance(metrics.get("accuracy"), (int, float)):
        details.append(f"accuracy {metrics['accuracy']:.3f}")
    label = " · ".join([key, method, *details])
    return ModelEntry(key, label, folder, method, metrics, (folder / PRUNING_CONFIG).stat().st_mtime)


def read_json_object(path: Path) -> dict:
    """A JSON object from path, or {} when it is missing or unreadable (the model stays usable)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _name_labels(classifier: PrunedTextClassifier, names: object) -> None:
    """Use metrics.json's label names where the config only has generic LABEL_i names."""
    config = classifier.model.config
    generic = all(str(name).startswith("LABEL_") for name in config.id2label.values())
    if generic and isinstance(names, list) and len(names) == len(config.id2label):
        config.id2label = {index: str(name) for index, name in enumerate(names)}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
