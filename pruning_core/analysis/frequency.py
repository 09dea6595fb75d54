"""The model's words (sub-word pieces joined back) and the words the classifier most often read, per class (read:
alive on entry to the last layer, pruning_core.trace.reached_classifier)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..trace import reached_classifier

WORD_COLUMNS = ["example_id", "word_index", "word", "n_pieces", "drop_layer"]
TOP_COLUMNS = ["class_by", "class_index", "content_only", "rank", "word", "kept", "occurrences"]


def model_words(examples: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """One row per word of the model's pre-tokenizer: its lower-cased text (the span its pieces cover),
    how many pieces it has and its drop layer (the latest among its pieces).

    examples: example_id, text; tokens: example_id, char_start, char_end, word_id, drop_layer."""
    real = tokens[tokens["word_id"].notna()]
    if real.empty:
        return pd.DataFrame(columns=WORD_COLUMNS)
    grouped = real.groupby(["example_id", "word_id"], sort=True).agg(
        start=("char_start", "min"), end=("char_end", "max"), n_pieces=("char_start", "size"),
        drop_layer=("drop_layer", "max")).reset_index()
    texts = dict(zip(examples["example_id"], examples["text"]))
    words = [texts[e][s:t].lower() for e, s, t in zip(grouped["example_id"], grouped["start"], grouped["end"])]
    return pd.DataFrame({"example_id": grouped["example_id"].astype(np.int64),
                         "word_index": grouped["word_id"].astype(np.int64), "word": words,
                         "n_pieces": grouped["n_pieces"].astype(np.int64),
                         "drop_layer": grouped["drop_layer"].astype(np.int64)})


def top_retained_words(words: pd.DataFrame, examples: pd.DataFrame, num_layers: int, top: int = 100,
                       stopwords: frozenset[str] | set[str] = frozenset()) -> pd.DataFrame:
    """Per true and per predicted class: the `top` words the classifier most often read (alive on entry to the
    last layer); kept counts those occurrences.

    Two lists each: every word, and content words only (no stopwords, no tokens without a letter)."""
    labels = examples.set_index("example_id")
    frame = pd.DataFrame({"word": words["word"].to_numpy(),
                          "kept": reached_classifier(words["drop_layer"].to_numpy(), num_layers).astype(np.int64),
                          "true": labels["label"].reindex(words["example_id"].to_numpy()).to_numpy(),
                          "predicted": labels["prediction"].reindex(words["example_id"].to_numpy()).to_numpy()})
    has_letter = frame["word"].str.contains(r"[a-z]", regex=True)
    content = has_letter & ~frame["word"].isin(stopwords)
    rows = []
    for class_by in ("true", "predicted"):
        for content_only, subset in ((False, frame), (True, frame[content])):
            counts = subset.groupby([class_by, "word"]).agg(kept=("kept", "sum"), occurrences=("kept", "size"))
            for class_index, group in counts.groupby(level=0):
                best = group[group["kept"] > 0].reset_index()
                best = best.sort_values(["kept", "occurrences", "word"], ascending=[False, True, True]).head(top)
                rows.append(pd.DataFrame({"class_by": class_by, "class_index": int(class_index),
                                          "content_only": content_only, "rank": np.arange(1, len(best) + 1),
                                          "word": best["word"], "kept": best["kept"],
                                          "occurrences": best["occurrences"]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=TOP_COLUMNS)
