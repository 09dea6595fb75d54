"""Which models the dashboard can offer, text and image alike, and loading them with clear messages.

A loadable model is any folder under `<artifacts>/models/` (at any depth) that holds `pruning.json`, as
`PrunedClassifier.save` writes it; its config's model type says whether it reads text or pictures
(`pruning_core.loading.modality`). A `metrics.json` beside it (accuracy, macro_f1, dataset, label_names,
stage...) is shown when present. For text the packaged MiniLM-L6 is always offered too: its classification
head is untrained, so its predictions are random, and its label says so.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from pruning_core import paths
from pruning_core.classifier import ModelLoadError, PrunedClassifier, UnsupportedModelError
from pruning_core.loading import load_classifier, modality
from pruning_core.methods import METHODS, PRUNING_CONFIG
from pruning_core.paths import METRICS_FILE

PACKAGED_KEY = "packaged/all-MiniLM-L6-v2"
PACKAGED_LABEL = "MiniLM-L6, packaged (not fine-tuned)"


@dataclass(frozen=True)
class ModelEntry:
    """One model a page can offer."""

    key: str                    # stable id: the folder relative to <artifacts>/models, or PACKAGED_KEY
    label: str                  # what a menu shows
    path: Path | None           # the model folder; None for the packaged MiniLM-L6
    method: str                 # the pruning method saved with the model
    modality: str = "text"      # "text" or "vision"
    metrics: dict = field(default_factory=dict, hash=False, compare=False)
    stamp: float = 0.0          # newest modification time of its files: a retrained folder is a new model

    @property
    def fine_tuned(self) -> bool:
        return self.path is not None

    @property
    def prunes(self) -> bool:
        return self.method not in METHODS or METHODS[self.method].removes_tokens

    @property
    def stage(self) -> str:
        return str(self.metrics.get("stage") or (self.path.name if self.path else "packaged"))


def discover_models(root: Path | None = None, kind: str = "text") -> list[ModelEntry]:
    """Saved models that read `kind` ("text" or "vision") under root/models, sorted by folder; for text, the
    packaged MiniLM-L6 last."""
    models = paths.models_dir(root)
    folders = [config.parent for config in sorted(models.rglob(PRUNING_CONFIG))] if models.is_dir() else []
    entries = [_entry(models, folder, kind) for folder in folders if modality(folder) == kind]
    return [*entries, ModelEntry(PACKAGED_KEY, PACKAGED_LABEL, None, "none")] if kind == "text" else entries


def trained_models(entries: list[ModelEntry]) -> list[ModelEntry]:
    return [entry for entry in entries if entry.fine_tuned]


def default_model(entries: list[ModelEntry], dataset: str | None = None) -> ModelEntry:
    """What a page starts on: a trained model (of `dataset` when there is one) that prunes, the most accurate
    first; else any trained model; else the packaged one."""
    def rank(entry: ModelEntry) -> tuple:
        accuracy = entry.metrics.get("accuracy")
        return (not entry.fine_tuned, bool(dataset) and entry.metrics.get("dataset") != dataset, not entry.prunes,
                -accuracy if isinstance(accuracy, (int, float)) else math.inf)
    return min(entries, key=rank)


def model_for(entries: list[ModelEntry], dataset: str, current: str | None) -> str | None:
    """The model to turn to for a text of `dataset`: None when the current one is trained on it (or no trained
    model is), else the default model of that dataset."""
    by_key = {entry.key: entry for entry in entries}
    if current in by_key and by_key[current].metrics.get("dataset") == dataset:
        return None
    best = default_model(entries, dataset)
    return best.key if best.metrics.get("dataset") == dataset else None


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


def load_model(entry: ModelEntry) -> PrunedClassifier:
    """Load an entry's classifier; every failure becomes a ModelLoadError that says what to do."""
    where = "the packaged MiniLM-L6" if entry.path is None else f"the model folder {entry.path}"
    if entry.path is not None and not (entry.path / PRUNING_CONFIG).is_file():
        raise ModelLoadError(f"{where} is gone (no {PRUNING_CONFIG}); pick another model or rebuild it.")
    try:
        classifier = load_classifier(entry.path)
    except (ModelLoadError, UnsupportedModelError):
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:   # e.g. a corrupt pruning.json
        raise ModelLoadError(f"Could not load {where}: {type(error).__name__}: {error}") from error
    _name_labels(classifier, entry.metrics.get("label_names"))
    return classifier


TASKS = {"imdb": "movie-review sentiment (IMDb)", "ag_news": "news topic (AG News)", "cifar10": "CIFAR-10 objects"}


def task_line(entry: ModelEntry, label_names: list[str]) -> str:
    """What the model does, in one line: the classes it sorts into, and the task it was trained for."""
    classes = ", ".join(label_names)
    if not entry.fine_tuned:
        return f"Untrained head: its answers among {classes} are random."
    dataset = entry.metrics.get("dataset")
    return f"Trained for {TASKS.get(dataset, dataset)}: answers one of {classes}." if dataset else \
        f"Answers one of {classes}."


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


def _entry(models: Path, folder: Path, kind: str) -> ModelEntry:
    key = folder.relative_to(models).as_posix()
    metrics = read_json_object(folder / METRICS_FILE)
    method = str(read_json_object(folder / PRUNING_CONFIG).get("method", "?"))
    details = [str(metrics["dataset"])] if metrics.get("dataset") else []
    if isinstance(metrics.get("accuracy"), (int, float)):
        scored_on = f"{metrics['evaluated_on']} " if metrics.get("evaluated_on") else ""   # older models: not said
        details.append(f"{scored_on}accuracy {metrics['accuracy']:.3f}")
    stamp = max((path.stat().st_mtime for path in folder.iterdir() if path.is_file()), default=0.0)
    return ModelEntry(key, " · ".join([key, method, *details]), folder, method, kind, metrics, stamp)


def read_json_object(path: Path) -> dict:
    """A JSON object from path, or {} when it is missing or unreadable (the model stays usable)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _name_labels(classifier: PrunedClassifier, names: object) -> None:
    """Use metrics.json's label names where the config only has generic LABEL_i names."""
    config = classifier.model.config
    generic = all(str(name).startswith("LABEL_") for name in config.id2label.values())
    if generic and isinstance(names, list) and len(names) == len(config.id2label):
        config.id2label = {index: str(name) for index, name in enumerate(names)}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
