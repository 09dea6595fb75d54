"""A pruning method saved beside its model: `pruning.json` (name and settings, learned thresholds included)
and, for methods with learned tensors, `pruning.safetensors`. Nothing is ever unpickled."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from .base import PruningMethod
from .registry import build_method, method_class

PRUNING_CONFIG = "pruning.json"
PRUNING_WEIGHTS = "pruning.safetensors"


def save_method(method: PruningMethod, folder: str | Path) -> None:
    """Write pruning.json and, when the method has learned tensors, pruning.safetensors into folder."""
    folder = Path(folder)
    (folder / PRUNING_CONFIG).write_text(json.dumps({"method": method.name, "config": method.config()}, indent=2))
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in method.state_dict().items()}
    if state:
        save_file(state, str(folder / PRUNING_WEIGHTS))


def load_method(folder: str | Path) -> PruningMethod:
    """Rebuild the pruning method saved in folder."""
    folder = Path(folder)
    saved = json.loads((folder / PRUNING_CONFIG).read_text())
    config = method_class(saved["method"]).upgrade_config(saved["config"])
    method = build_method(saved["method"], **config)
    if (folder / PRUNING_WEIGHTS).is_file():
        method.load_state_dict(load_file(str(folder / PRUNING_WEIGHTS)))
    return method


def has_method(folder: str | Path) -> bool:
    """True when folder holds a saved pruning method."""
    return (Path(folder) / PRUNING_CONFIG).is_file()
