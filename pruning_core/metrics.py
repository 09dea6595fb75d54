"""Classification metrics as plain JSON-friendly values: accuracy, macro P/R/F1, confusion, per-class report,
a bootstrap interval for a mean, a paired one for the accuracy difference of two models on the same examples (of
two benchmark rows too, refused when their stored example ids differ), accuracy by text length, what a sweep's
timing compares against, and the resampled column sums any statistic of sums takes its interval from."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

BOOTSTRAP_CHUNK = 4_000_000   # resampled indices held at once (32 MB), whatever the number of examples
# Accuracy by length: the buckets' edges in tokens read (< 128, 128–256, 256–400, >= 400).
LENGTH_EDGES = (128, 256, 400)
# A text sweep's speed-ups are against this setting, the equally trained unpruned model timed on the strongest
# unpruned path, unless its config names another ("reference"; older sweeps name none).
SPEED_REFERENCE = "control"
# The Hugging Face model as most users run it (dynamic padding, arbitrary order): timed for reference only, never the
# speed-up reference nor a pruned setting.
TRANSFORMERS_SETTING = "transformers"


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
    95% interval when both hold every example's prediction and the sweep's labels (older sweeps do not). Rows over
    different examples, or the same in another order, are refused (check_paired)."""
    check_paired(row, reference)
    correct, reference_correct = _correct(row), _correct(reference)
    if correct is None or reference_correct is None:
        return 100 * (row["accuracy"] - reference["accuracy"]), None
    difference, low, high = paired_bootstrap(correct, reference_correct)
    return 100 * difference, (100 * low, 100 * high)


def points_cell(row: Mapping, reference: Mapping) -> str:
    """'-1.1 [-1.6, -0.6]': points_versus as a table cell (the interval only where predictions were stored)."""
    difference, interval = points_versus(row, reference)
    return f"{difference:+.1f}" + (f" [{interval[0]:.1f}, {interval[1]:.1f}]" if interval else "")


def check_paired(row: Mapping, reference: Mapping) -> None:
    """Refuse (ValueError naming both settings) two benchmark rows whose predictions are not over the same examples
    in the same order, judged by their stored example ids; rows stored without ids (older sweeps) pass."""
    ids, reference_ids = _values(row, "example_ids"), _values(reference, "example_ids")
    if ids is None or reference_ids is None or np.array_equal(ids, reference_ids):
        return
    if len(ids) != len(reference_ids):
        why = f"{len(ids)} and {len(reference_ids)} examples"
    else:
        position = int(np.flatnonzero(ids != reference_ids)[0])
        why = f"example {ids[position]} against {reference_ids[position]} at position {position}"
    raise ValueError(f"{row.get('dataset')}: settings {row.get('setting')!r} and {reference.get('setting')!r} hold "
                     f"different examples or a different order ({why}); their predictions cannot be paired.")


def _values(row: Mapping, column: str) -> np.ndarray | None:
    """A list-valued cell of a benchmark row as an array, or None where the row's sweep did not store it."""
    value = row.get(column)
    return np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None


def _correct(row: Mapping) -> np.ndarray | None:
    """(n,) bool: which examples a benchmark row got right, or None for a row stored without predictions."""
    predictions, labels, ids = _values(row, "predictions"), _values(row, "labels"), _values(row, "example_ids")
    if predictions is None or labels is None:
        return None
    if len(predictions) != len(labels) or (ids is not None and len(ids) != len(predictions)):
        counts = f" and {len(ids)} example ids" if ids is not None else ""
        raise ValueError(f"{row.get('dataset')} {row.get('setting')}: {len(predictions)} predictions for "
                         f"{len(labels)} labels{counts}; rerun the benchmark.")
    return predictions == labels


@dataclass(frozen=True)
class LengthBucket:
    """A benchmark row's accuracy on the examples of one length bucket."""

    label: str                                  # "< 128", "128–256", "256–400" or "≥ 400" (tokens read)
    n: int                                      # examples in the bucket
    accuracy: float | None                      # None for an empty bucket
    points: float | None = None                 # accuracy minus the reference row's on the same examples, in points
    interval: tuple[float, float] | None = None  # its paired bootstrap 95% interval

    def cell(self) -> str:
        """'0.912 (-1.2 [-2.0, -0.4])', '0.912' without a reference, 'empty' without examples."""
        if self.accuracy is None:
            return "empty"
        versus = f" ({self.points:+.1f} [{self.interval[0]:.1f}, {self.interval[1]:.1f}])" if self.interval else ""
        return f"{self.accuracy:.3f}{versus}"


def length_labels(edges: tuple[int, ...] = LENGTH_EDGES) -> list[str]:
    """The buckets' names: '< 128', '128–256', '256–400', '≥ 400' for the default edges."""
    _check_edges(edges)
    return [f"< {edges[0]}", *(f"{low}–{high}" for low, high in zip(edges, edges[1:])), f"≥ {edges[-1]}"]


def length_buckets(lengths, edges: tuple[int, ...] = LENGTH_EDGES) -> np.ndarray:
    """(n,) each example's bucket number from its tokens read (n,): 0 below edges[0], len(edges) from edges[-1] on."""
    _check_edges(edges)
    return np.searchsorted(np.asarray(edges), np.asarray(lengths), side="right")


def _check_edges(edges: tuple[int, ...]) -> None:
    if len(edges) == 0 or any(low >= high for low, high in zip(edges, edges[1:])) or edges[0] <= 0:
        raise ValueError(f"edges must be positive token counts in increasing order, got {edges!r}.")


def accuracy_by_length(row: Mapping, reference: Mapping | None = None,
                       edges: tuple[int, ...] = LENGTH_EDGES) -> list[LengthBucket] | None:
    """A benchmark row's accuracy per length bucket of its sweep's examples (the sweep's `lengths`: tokens each reads
    at the profile's length), with the paired difference from a reference row of the same sweep and its 95%
    interval; None for a sweep stored without predictions or lengths (older sweeps)."""
    correct, lengths = _correct(row), _values(row, "lengths")
    if correct is None or lengths is None:
        return None
    if len(lengths) != len(correct):
        raise ValueError(f"{row.get('dataset')} {row.get('setting')}: {len(lengths)} lengths for "
                         f"{len(correct)} predictions; rerun the benchmark.")
    reference_correct = None
    if reference is not None:
        check_paired(row, reference)
        reference_correct = _correct(reference)
    buckets = length_buckets(lengths, edges)
    found = []
    for number, label in enumerate(length_labels(edges)):
        chosen = buckets == number
        if not chosen.any():
            found.append(LengthBucket(label, 0, None))
        elif reference_correct is None:
            found.append(LengthBucket(label, int(chosen.sum()), float(correct[chosen].mean())))
        else:
            difference, low, high = paired_bootstrap(correct[chosen], reference_correct[chosen])
            found.append(LengthBucket(label, int(chosen.sum()), float(correct[chosen].mean()), 100 * difference,
                                      (100 * low, 100 * high)))
    return found


def alive_on_entry(mean_kept, keep_fraction) -> list[float]:
    """Mean tokens alive on entry to each layer: the input, then after every layer but the last (mean_kept (L,) holds
    those alive after each layer, keep_fraction (L,) the same as a share of the input). The last figure is what the
    classifier read: the last layer's own decision cannot change the prediction."""
    kept, share = [float(k) for k in mean_kept], [float(f) for f in keep_fraction]
    if not kept:
        return []
    tokens = kept[0] / share[0] if share and share[0] > 0 else float("nan")
    return [tokens, *kept[:-1]]


def prunes_tokens(row: Mapping) -> bool:
    """Whether a benchmark setting can remove tokens: not an unpruned model (method "none": the control, the
    transformers reference) nor LTP's weights with every threshold at 0 (`ltp-x0`, nothing pruned)."""
    thresholds = _values(row, "thresholds")
    return row.get("method") != "none" and not (thresholds is not None and len(thresholds) > 0
                                                and bool(np.all(thresholds.astype(float) == 0)))


def speed_reference(config: Mapping) -> str:
    """The setting a text sweep's speed-ups are against: its config's "reference", else SPEED_REFERENCE."""
    return config.get("reference") or SPEED_REFERENCE


def describe_timing(config: Mapping, reference: str | None = None) -> str:
    """How a sweep was timed, from its config (batching, padding share, the last layer, threads), and the setting its
    speed-ups are against (default: speed_reference(config)); older sweeps, which recorded none of it, are said to be
    so."""
    reference = reference or speed_reference(config)
    if config.get("batching") is None:
        return (f"This sweep does not record how its timed batches were formed (older text sweeps timed padded "
                f"batches in random order, and every unpruned model computed every row of its last layer); "
                f"speed-ups here are against `{reference}`.")
    padding = config.get("padding_share")
    padding = f", {100 * padding:.1f}% of the timed tokens being padding" if padding is not None else ""
    last = ("every model's last layer, pruned or not, computes only CLS's row (all the classifier reads)"
            if config.get("last_layer_cls_only") else "every model computes every row of its last layer")
    threads = f", {config['threads']} threads" if config.get("threads") else ""
    return (f"Timed on {config['batching']}{padding}{threads}; {last}. Speed-ups are against `{reference}`, the "
            f"equally trained unpruned model on the strongest unpruned path (the same batches).")


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
