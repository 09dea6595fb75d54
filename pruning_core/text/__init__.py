"""Text classifiers (BERT, DistilBERT, RoBERTa) pruned layer by layer."""
from .io import default_model_path, load_text_classifier, save_pruned
from .model import DEFAULT_MAX_LENGTH, EmptyTextError, PrunedTextClassifier

__all__ = ["DEFAULT_MAX_LENGTH", "EmptyTextError", "PrunedTextClassifier", "default_model_path", "load_text_classifier",
           "save_pruned"]
