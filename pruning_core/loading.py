"""The model types this tool can drive, and loading any of them: a config's `model_type` picks the loader."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import torch

from .classifier import PrunedClassifier, UnsupportedModelError, read_config, resolve_device
from .methods import PruningMethod
from .text import load_text_classifier
from .text.backbones import ADAPTERS
from .text.io import default_model_path
from .vision import load_vision_classifier

Modality = Literal["text", "vision"]


@dataclass(frozen=True)
class Loader:
    modality: Modality
    load: Callable[..., PrunedClassifier]   # (folder or hub id, method=None, device="auto") -> classifier


_TEXT = Loader("text", load_text_classifier)
_VISION = Loader("vision", load_vision_classifier)
LOADERS: dict[str, Loader] = {**{model_type: _TEXT for model_type in ADAPTERS}, "vit": _VISION}


def load_classifier(source: str | Path | None = None, method: PruningMethod | None = None,
                    device: str | torch.device = "auto") -> PrunedClassifier:
    """The classifier in a folder or hub id (default: the packaged MiniLM-L6), text or vision as its config says, on
    `device` ("auto": the GPU when present, else the CPU).

    A saved folder brings its pruning method back unless `method` overrides it."""
    target = resolve_device(device)
    source = str(source or default_model_path())
    model_type = read_config(source).model_type
    if model_type not in LOADERS:
        raise UnsupportedModelError(f"{source!r} holds a {model_type!r} model; supported types: "
                                    f"{', '.join(LOADERS)}.")
    return LOADERS[model_type].load(source, method=method, device=target)


def modality(folder: str | Path) -> Modality | None:
    """"text" or "vision" for a saved model folder this tool can load; None for anything else.

    Reads only the folder's config.json: cheap enough to sort many folders."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    loader = LOADERS.get(config.get("model_type")) if isinstance(config, dict) else None
    return loader.modality if loader else None
