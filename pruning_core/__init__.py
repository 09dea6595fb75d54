"""Token Pruning Lens core: prune tokens inside transformers, for real, and trace what survives.

In a notebook, a saved model (text or ViT, or a hub id; none: the packaged MiniLM-L6) under a method:

    from pruning_core import build_method, load_classifier
    method = build_method("topk", keep_ratios=[1, 1, .5, .5, .3, .3])
    load_classifier("path/or/hub-id", method=method).trace(["A wonderful film"])

The names below are imported on first use, so that `import pruning_core.paths` stays cheap: the
pipelines read it before they re-execute Python, and torch and transformers take seconds to import.

Layers (LAYERS, lowest first): a module imports from its own layer or those below, never above, and never in a
circle (tests/test_structure.py draws the graph from the imports and checks it):
  base      where things live and the process (paths, runtime, hub)
  core      methods, attention, the layer loop, the classifier, the trace and its HTML view, metrics, and what
            every modality's training shares (a stage's result, distillation)
  wings     each modality's model, data, training, profiles (text/, vision/, generation/: the KV-cache lens of a
            generating language model): a new modality is a new folder
  storage   the DuckDB store (storage/): persistence only, no statistics
  analysis  measures of models and stored runs, including those that read the store
pipelines/ import the library, the app imports both; the library imports neither.
"""
from __future__ import annotations

import importlib

LAYERS = (  # the modules and packages directly under pruning_core, by layer
    ("paths", "runtime", "hub"),
    ("methods", "attention", "loop", "trace", "render", "classifier", "optim", "metrics", "training", "distillation"),
    ("text", "vision", "generation", "loading"),
    ("storage",),
    ("analysis",),
)

_HOMES = {  # name -> the module that defines it
    "ClassifierOutput": "classifier", "ModelLoadError": "classifier", "PrunedClassifier": "classifier",
    "UnsupportedModelError": "classifier",
    "LOADERS": "loading", "load_classifier": "loading", "modality": "loading",
    "METHODS": "methods", "PruningMethod": "methods", "build_method": "methods", "load_method": "methods",
    "save_method": "methods",
    "ExampleTrace": "trace",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
