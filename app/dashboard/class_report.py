"""The Class report page's service: a traced run's stored per-class report and confusion matrix
(store.run_metrics), the cell a user chose (by a click on the matrix or in the menus), and that cell's texts as
the page shows them. No widgets here."""
from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np
import pandas as pd

SHOWN_EXAMPLES = 200           # texts listed per cell, most confident first
REPORT_COLUMNS = ["class", "precision", "recall", "F1", "support"]
_APPLIED = "_applied_cell"     # the last click turned into a choice (a "_" key: not kept across pages)


def has_report(metrics: dict) -> bool:
    """Whether the run's per-class report and confusion matrix were stored (runs written without them have
    neither rows, so run_metrics gives an empty report and a matrix of zeros)."""
    return not metrics["per_class"].empty and int(metrics["confusion"].to_numpy().sum()) > 0


def missing_message(run: dict) -> str:
    """Why there is nothing to show for a run without the tables, and how to store them."""
    model = run.get("model_path")
    command = "python -m pipelines.trace" + (f" --model {model}" if isinstance(model, str) and model else "")
    return (f"Run {run['run_id']!r} has no stored per-class report or confusion matrix (it was written without "
            f"them). Trace its model again to store them: `{command}`.")


def report_table(metrics: dict) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then their macro average (the run's stored macro figures) and
    their average weighted by support."""
    per_class, summary = metrics["per_class"], metrics["summary"]
    support = per_class["support"].to_numpy(dtype=float)
    weights = support / support.sum() if support.sum() else np.zeros_like(support)
    classes = pd.DataFrame({"class": per_class["label"].astype(str), "precision": per_class["precision"],
                            "recall": per_class["recall"], "F1": per_class["f1"], "support": per_class["support"]})
    total = int(support.sum())
    averages = pd.DataFrame([
        ["macro average", summary["macro_precision"], summary["macro_recall"], summary["macro_f1"], total],
        ["weighted average", *(float(weights @ per_class[name].to_numpy(dtype=float))
                               for name in ("precision", "recall", "f1")), total]], columns=REPORT_COLUMNS)
    return pd.concat([classes, averages], ignore_index=True)


def commonest_confusion(matrix: pd.DataFrame) -> tuple[int, int]:
    """The off-diagonal cell with the most texts (the model's most frequent mistake); the fullest diagonal cell
    when it makes none."""
    counts = matrix.to_numpy(dtype=np.int64)                                    # (C, C): [true, predicted]
    mistakes = counts.copy()
    np.fill_diagonal(mistakes, -1)
    chosen = mistakes if mistakes.max() > 0 else counts
    true_index, predicted_index = np.unravel_index(int(np.argmax(chosen)), counts.shape)
    return int(true_index), int(predicted_index)


def take_click(state: MutableMapping, cell: tuple[int, int] | None, keys: tuple[str, str]) -> None:
    """A new click on the matrix sets the true- and predicted-class menus (session-state `keys`) to its cell. A
    click already applied is left alone: the chart keeps reporting it on every rerun, and the menus must stay free
    to move away from it."""
    if cell is not None and state.get(_APPLIED) != (keys, cell):
        state[_APPLIED] = (keys, cell)
        state[keys[0]], state[keys[1]] = cell


def cell_table(examples: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """A cell's texts (store.cell_examples) as the page lists them: id, true and predicted class, the prediction's
    probability, the text."""
    return pd.DataFrame({
        "example": examples["example_id"].to_numpy(),
        "true class": [names[int(i)] for i in examples["label"]],
        "predicted class": [names[int(i)] for i in examples["prediction"]],
        "probability": examples["probability"].to_numpy(),
        "text": examples["text"].to_numpy(),
    })
