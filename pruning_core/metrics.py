"""Classification metrics as plain JSON-friendly values: accuracy, macro P/R/F1, confusion, per-class report,
a bootstrap interval for a mean, a paired one for the accuracy difference of two models on the same examples (of
two benchmark rows too), and
the resampled column sums any statistic of sums takes its interval from."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .analysis.flops import encoder_flops, model_dims

BOOTSTRAP_CHUNK = 4_000_000   # resampled indices held at once (32 MB), whatever the number of examples


@dataclass
class ClassificationMetrics:
    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    confusion: list[list[int]]           # confusion[true][predicted]
    per_class: list[dict] = field(default_factory=list)   # label, precision, recall, f1, support

    def as_dict(self) -> dict:
        return asdict(self)


def classification_metrics(labels: list[int] | np.ndarray, predictions: list[int] | np.ndarray,
                           label_names: list[str]) -> ClassificationMetrics:
    """Metrics over every class in label_names (a class never predicted gets precision 0)."""
    labels, predictions = np.asarray(labels, dtype=int), np.asarray(predictions, dtype=int)
    size = len(label_names)
    confusion = np.zeros((size, size), dtype=int)
    np.add.at(confusion, (labels, predictions), 1)
    true_positive = np.diag(confusion).astype(float)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros(size), where=predicted > 0)
    recall = np.divide(true_positive, support, out=np.zeros(size), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(size), where=denominator > 0)
    per_class = [{"label": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                 for name, p, r, f, s in zip(label_names, precision, recall, f1, support)]
    accuracy = float(true_positive.sum() / max(len(labels), 1))
    return ClassificationMetrics(accuracy, float(precision.mean()), float(recall.mean()), float(f1.mean()),
                                 confusion.tolist(), per_class)


def paired_bootstrap(correct_a, correct_b, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """Accuracy of a minus accuracy of b, with the 2.5% and 97.5% percentiles of that difference over
    resamples of the examples drawn with replacement (the same indices for both: the pairing)."""
    a, b = np.asarray(correct_a, dtype=np.int8), np.asarray(correct_b, dtype=np.int8)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"paired_bootstrap needs two 1-D arrays over the same examples, got shapes "
                         f"{a.shape} and {b.shape}.")
    if len(a) == 0:
        raise ValueError("paired_bootstrap needs at least one example.")
    return bootstrap_mean(a - b, resamples, seed)   # per example -1, 0 or 1: a resample's mean is its difference


def points_versus(row: Mapping, reference: Mapping) -> tuple[float, tuple[float, float] | None]:
    """A benchmark row's accuracy minus a reference row's of the same sweep, in points, with the paired bootstrap
    95% interval when both hold every example's prediction and the sweep's labels (older sweeps do not)."""
    correct, reference_correct = _correct(row), _correct(reference)
    if correct is None or reference_correct is None:
        return 100 * (row["accuracy"] - reference["accuracy"]), None
    difference, low, high = paired_bootstrap(correct, reference_correct)
    return 100 * difference, (100 * low, 100 * high)


def points_cell(row: Mapping, reference: Mapping) -> str:
    """'-1.1 [-1.6, -0.6]': points_versus as a table cell (the interval only where predictions were stored)."""
    difference, interval = points_versus(row, reference)
    return f"{difference:+.1f}" + (f" [{interval[0]:.1f}, {interval[1]:.1f}]" if interval else "")


def _correct(row: Mapping) -> np.ndarray | None:
    """(n,) bool: which examples a benchmark row got right, or None for a row stored without predictions."""
    predictions, labels = row.get("predictions"), row.get("labels")
    if not isinstance(predictions, (list, np.ndarray)) or not isinstance(labels, (list, np.ndarray)):
        return None
    if len(predictions) != len(labels):
        raise ValueError(f"{row.get('dataset')} {row.get('setting')}: {len(predictions)} predictions for "
                         f"{len(labels)} labels; rerun the benchmark.")
    return np.asarray(predictions) == np.asarray(labels)


def bootstrap_mean(values, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """The mean of values (n,) with the 2.5% and 97.5% percentiles of the mean over resamples of the values
    drawn with replacement."""
    values = np.asarray(values)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"bootstrap_mean needs a non-empty 1-D array, got shape {values.shape}.")
    means = bootstrap_sums(values[:, None], resamples, seed)[:, 0] / len(values)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def bootstrap_sums(columns, resamples: int = 10_000, seed: int = 0) -> np.ndarray:
    """Column sums of columns (n, k) over resamples of its n rows drawn with replacement: (resamples, k).

    Any statistic of sums (a mean, a share, a ratio of two rates, their difference between classes) gets its
    bootstrap distribution by applying it to these rows; one seed gives the same resamples for every column."""
    columns = np.asarray(columns, dtype=float)
    if columns.ndim != 2 or len(columns) == 0:
        raise ValueError(f"bootstrap_sums needs a non-empty (n, k) array, got shape {columns.shape}.")
    n = len(columns)
    rng = np.random.default_rng(seed)
    rows = max(1, BOOTSTRAP_CHUNK // n)
    sums = np.empty((resamples, columns.shape[1]))
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        indices = rng.integers(0, n, (count, n))
        if columns.shape[1] <= 2:     # gathering the drawn rows is cheaper for one or two columns
            sums[start:start + count] = columns[indices].sum(axis=1)
        else:                         # else count how often each row was drawn and multiply
            drawn = np.bincount((indices + n * np.arange(count)[:, None]).ravel(), minlength=count * n)
            sums[start:start + count] = drawn.reshape(count, n) @ columns
    return sums


@dataclass
class Evaluation:
    """A classifier's metrics on labelled texts, with how many tokens each layer kept."""

    metrics: ClassificationMetrics
    mean_kept: list[float]        # tokens alive after each layer, mean over examples
    keep_fraction: list[float]    # the same as a share of the input tokens (token-weighted)
    mean_tokens: float            # input tokens per example
    mean_flops: float             # analytic encoder FLOPs per example
    predictions: list[int]

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
                      predictions)
