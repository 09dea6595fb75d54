"""Text classifiers (BERT, DistilBERT, RoBERTa) pruned layer by layer."""
from .backbones import UnsupportedModelError
from .io import ModelLoadError, default_model_path, load_method, load_text_classifier, save_pruned
from .model import DEFAULT_MAX_LENGTH, EmptyTextError, PrunedTextClassifier, TextOutput

__all__ = ["DEFAULT_MAX_LENGTH", "EmptyTextError", "ModelLoadError", "PrunedTextClassifier", "TextOutput",
           "UnsupportedModelError", "default_model_path", "load_method", "load_text_classifier", "save_pruned"]
