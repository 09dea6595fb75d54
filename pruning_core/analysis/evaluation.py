"""A text classifier's accuracy, F1, tokens kept per layer and analytic FLOPs on labelled texts: how the
training and benchmark pipelines score a model."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..metrics import ClassificationMetrics, classification_metrics
from .flops import encoder_flops, model_dims


@dataclass
class Evaluation:
    """A classifier's metrics on labelled texts, with how many tokens each layer kept."""

    metrics: ClassificationMetrics
    mean_kept: list[float]        # tokens alive after each layer, mean over examples
    keep_fraction: list[float]    # the same as a share of the input tokens (token-weighted)
    mean_tokens: float            # input tokens per example
    mean_flops: float             # analytic encoder FLOPs per example
    predictions: list[int]
    lengths: list[int] = field(default_factory=list)   # tokens each example read (after truncation)

    def summary(self) -> dict:
        return {"accuracy": self.metrics.accuracy, "macro_f1": self.metrics.macro_f1,
                "macro_precision": self.metrics.macro_precision, "macro_recall": self.metrics.macro_recall,
                "mean_kept": self.mean_kept, "keep_fraction": self.keep_fraction,
                "mean_tokens": self.mean_tokens, "mean_flops": self.mean_flops}


def evaluate(classifier, texts: list[str], labels: list[int], max_length: int, batch_size: int = 32,
             chunk: int = 512, progress: bool = False) -> Evaluation:
    """Classify texts with the classifier's pruning method and measure accuracy, F1 and tokens kept."""
    hidden, intermediate = model_dims(classifier.model.config)
    predictions, counts, lengths, flops = [], [], [], []
    for start in tqdm(range(0, len(texts), chunk), desc="evaluate", disable=not progress):
        for trace in classifier.trace(texts[start:start + chunk], max_length=max_length, batch_size=batch_size):
            predictions.append(trace.prediction)
            counts.append(trace.keep_counts)
            lengths.append(len(trace.tokens))
            flops.append(encoder_flops(len(trace.tokens), trace.keep_counts, hidden, intermediate))
    kept = np.asarray(counts, dtype=float).reshape(len(predictions), -1)
    total = max(float(np.sum(lengths)), 1.0)
    return Evaluation(classification_metrics(labels, predictions, classifier.label_names),
                      kept.mean(axis=0).tolist() if len(kept) else [], (kept.sum(axis=0) / total).tolist(),
                      float(np.mean(lengths)) if lengths else 0.0, float(np.mean(flops)) if flops else 0.0,
                      predictions, lengths)
