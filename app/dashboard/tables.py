"""The store's rows reshaped for reading: run labels, the runs table, keyword tables with a column per layer.

Pure pandas; the pages show these frames as they are and offer the same frames as CSV.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from pruning_core.methods import METHODS
from pruning_core.trace import read_layer

# What a table shows in a cell with no value (st.dataframe's `placeholder`; Streamlit's own is the word "None").
EMPTY_CELL = "—"

FACET_NAMES = {"pos": "Part of speech", "entity": "Entity type", "stopword": "Stopword",
               "frequency": "Frequency band", "punctuation": "Punctuation"}


def method_name(method: str) -> str:
    """What people call a stored method name ("ltp" -> "LTP")."""
    return METHODS[method].title if method in METHODS else str(method)


def run_label(run: Mapping) -> str:
    """One short line naming a run for a menu: model · method · accuracy (and the split when not test)."""
    model = f"{run.get('training_run') or run.get('dataset') or '?'}/{run.get('stage') or '?'}"
    parts = [model, method_name(run.get("method"))]
    if run.get("split") not in (None, "test"):
        parts.append(f"{run['split']} split")
    accuracy = run.get("accuracy")
    if isinstance(accuracy, (int, float)) and not math.isnan(accuracy):
        parts.append(f"acc {accuracy:.3f}")
    return " · ".join(parts)


def as_list(value: object) -> list:
    """A list-valued cell as a list: None, NA and NaN (a missing list) become []; masked items become NaN."""
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return []
    if isinstance(value, np.ma.MaskedArray):
        return list(value.astype(float).filled(np.nan))
    return list(value)


READ_SHARE_HELP = ("Share of the input tokens the classifier read: those alive on entry to the last layer (CLS "
                   "included). The last layer's own pruning cannot change the answer.")


def read_share(keep_fraction: object) -> float:
    """Share of a run's tokens the classifier read: its keep fraction (one share per layer, alive after it) on entry
    to the last layer; 1 for a one-layer model (it reads the input)."""
    values = as_list(keep_fraction)
    if not values:
        return math.nan
    layer = read_layer(len(values))
    return 1.0 if layer < 0 else float(values[layer])


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per stored run, for Home and Compare."""
    return pd.DataFrame({
        "run": runs["run_id"],
        "dataset": runs["dataset"],
        "stage": runs["stage"],
        "method": [method_name(m) for m in runs["method"]],
        "examples": runs["n_examples"],
        "accuracy": runs["accuracy"],
        "macro-F1": runs["macro_f1"],
        "tokens read": [read_share(k) for k in runs["keep_fraction"]],
        "analysed": runs["analysed"],
    })


def layer_columns(num_layers: int) -> list[str]:
    """Column names of the keyword table's per-layer retention (percent of occurrences alive after layer l)."""
    return [f"L{layer + 1} %" for layer in range(num_layers)]


# What each percentage column of the keyword table holds (the page shows it as the column's tooltip).
PERCENT_COLUMNS = {
    "final %": "Share of the keyword's occurrences the classifier read (alive on entry to the last layer: the last "
               "layer's own pruning cannot change the answer).",
    "acc kept %": "Accuracy on the texts where the classifier read the keyword (any occurrence).",
    "acc dropped %": "Accuracy on the texts where every occurrence of the keyword was removed before the last layer.",
}


def keyword_display(frame: pd.DataFrame, num_layers: int) -> pd.DataFrame:
    """Keyword rows (keyword_table or custom_keywords) with retention spread over one column per layer.

    Shares are percentages (one decimal); empty where a keyword never occurs (or was never kept/dropped)."""
    retention = np.array([padded(values, num_layers) for values in frame["retention"]]).reshape(-1, num_layers)
    shown = pd.DataFrame({"keyword": frame["keyword"].to_numpy()})
    if "class_name" in frame:
        shown["class"] = frame["class_name"].to_numpy()
    if "source" in frame:
        shown["source"] = frame["source"].to_numpy()
    shown["occurrences"] = frame["occurrences"].to_numpy()
    shown["examples"] = frame["examples"].to_numpy()
    for column, values in zip(layer_columns(num_layers), retention.T):
        shown[column] = _percent(values)
    for column, source in zip(PERCENT_COLUMNS, ("kept_final", "accuracy_kept", "accuracy_dropped")):
        shown[column] = _percent(frame[source].to_numpy(dtype=float))
    return shown


def _percent(values: np.ndarray) -> np.ndarray:
    return np.round(100 * np.asarray(values, dtype=float), 1)


def keyword_comparison(first: pd.DataFrame, second: pd.DataFrame, names: tuple[str, str]) -> pd.DataFrame:
    """Keywords of two runs side by side (keyword_table frames): occurrences and the percentage the classifier read
    in each, largest differences first; keywords that occur in neither run are left out."""
    columns = ["keyword", "occurrences", "kept_final"]
    merged = first[columns].drop_duplicates("keyword").merge(second[columns].drop_duplicates("keyword"),
                                                            on="keyword", how="outer", suffixes=(" A", " B"))
    merged = merged[merged[["occurrences A", "occurrences B"]].fillna(0).sum(axis=1) > 0]
    a, b = names
    shown = pd.DataFrame({"keyword": merged["keyword"].to_numpy(),
                          f"occurrences {a}": merged["occurrences A"].to_numpy(),
                          f"final % {a}": _percent(merged["kept_final A"].to_numpy(dtype=float)),
                          f"occurrences {b}": merged["occurrences B"].to_numpy(),
                          f"final % {b}": _percent(merged["kept_final B"].to_numpy(dtype=float))})
    shown[f"{b} − {a}"] = shown[f"final % {b}"] - shown[f"final % {a}"]
    return shown.sort_values(f"{b} − {a}", key=lambda d: -d.abs(), na_position="last", ignore_index=True)


MAX_KEYWORDS = 50   # words the custom keyword table looks up at once


def parse_keywords(typed: str) -> list[str]:
    """'great, awful  boring' -> ['great', 'awful', 'boring'] (commas or spaces, case kept, duplicates gone)."""
    words = [word.strip() for chunk in (typed or "").split(",") for word in chunk.split()]
    return list(dict.fromkeys(word for word in words if word))


def padded(values: object, num_layers: int) -> list[float]:
    """A list cell as exactly num_layers floats (NaN-filled)."""
    values = [float(v) for v in as_list(values)][:num_layers]
    return values + [math.nan] * (num_layers - len(values))
