"""Domain keywords: the study's lists, keywords found in the data, and how pruning treats them.

Words here are the model's words (sub-word pieces joined, lower-cased); a word is alive at a layer
while any of its pieces is, so `drop_layer` is the latest drop among its pieces (num_layers: no layer removed
it). The classifier read a word when it was alive on entry to the last layer (pruning_core.trace.reached_classifier):
the last layer's own decision cannot change the prediction.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..trace import reached_classifier

# The seed study's lists, by dataset and class name.
STUDY_KEYWORDS: dict[str, dict[str, list[str]]] = {
    "ag_news": {
        "World": ["iraq", "president", "minister", "troops", "baghdad", "reuters", "afp"],
        "Sports": ["season", "win", "final", "team", "league", "first", "second", "last"],
        "Business": ["oil", "stocks", "prices", "profit", "bank", "inc", "corp", "shares", "earnings"],
        "Sci/Tech": ["microsoft", "google", "apple", "linux", "internet", "space", "security", "technology"],
    },
    "imdb": {
        "positive": ["great", "amazing", "love", "recommend", "excellent", "best", "funny"],
        "negative": ["worst", "awful", "boring", "waste", "bad", "terrible"],
    },
}
STATS_COLUMNS = ["keyword", "occurrences", "examples", "retention", "kept_final", "examples_kept",
                 "examples_dropped", "accuracy_kept", "accuracy_dropped"]
_WORDLIKE = re.compile(r"^[a-z][a-z'\-]*[a-z]$")


def study_keywords(dataset: str, label_names: list[str]) -> pd.DataFrame:
    """The study's list for a dataset as rows (keyword, class_index); empty for other datasets."""
    lists = STUDY_KEYWORDS.get(dataset, {})
    rows = [(word, label_names.index(name)) for name, words in lists.items() if name in label_names
            for word in words]
    return pd.DataFrame(rows, columns=["keyword", "class_index"])


def keyword_stats(words: pd.DataFrame, examples: pd.DataFrame, keywords: list[str],
                  num_layers: int) -> pd.DataFrame:
    """Per keyword: occurrences, examples holding it, retention after each layer (share of occurrences
    alive), kept_final (share of occurrences the classifier read: alive on entry to the last layer), and accuracy
    on the examples where the classifier read it (any occurrence) versus those where it read none.

    words: example_id, word, drop_layer; examples: example_id, label, prediction."""
    correct = pd.Series((examples["label"] == examples["prediction"]).to_numpy(), index=examples["example_id"])
    matches = words[words["word"].isin(keywords)]
    rows = []
    for keyword in keywords:
        hits = matches[matches["word"] == keyword]
        drops = hits["drop_layer"].to_numpy()
        read = reached_classifier(hits.groupby("example_id")["drop_layer"].max(), num_layers)   # per example
        kept_ids, dropped_ids = read.index[read], read.index[~read]
        rows.append({
            "keyword": keyword,
            "occurrences": len(hits),
            "examples": len(read),
            "retention": [float((drops > layer).mean()) if len(drops) else math.nan for layer in range(num_layers)],
            "kept_final": float(reached_classifier(drops, num_layers).mean()) if len(drops) else math.nan,
            "examples_kept": len(kept_ids),
            "examples_dropped": len(dropped_ids),
            "accuracy_kept": float(correct[kept_ids].mean()) if len(kept_ids) else math.nan,
            "accuracy_dropped": float(correct[dropped_ids].mean()) if len(dropped_ids) else math.nan,
        })
    return pd.DataFrame(rows, columns=STATS_COLUMNS)


def custom_keywords(run_id: str, keywords: list[str], db: str | Path | None = None) -> pd.DataFrame:
    """keyword_stats of an analysed stored run for words a user types (case-insensitive): the stored keyword table's
    columns, computed on demand from the run's stored words."""
    wanted = sorted({k.strip().lower() for k in keywords if k and k.strip()})
    words, examples = storage.keyword_rows(run_id, wanted, db)
    return keyword_stats(words, examples, wanted, storage.run_info(run_id, db)["num_layers"])


def log_odds_dirichlet(counts: pd.DataFrame, prior_scale: float = 1.0) -> pd.DataFrame:
    """Log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), each class
    against all the others. counts: index word, one column per class (occurrence counts).

    The prior is the pooled counts times prior_scale. Returns a frame like counts holding z-scores:
    large positive z = the word is typical of that class."""
    values = counts.to_numpy(dtype=float)
    pooled = values.sum(axis=1, keepdims=True)
    alpha = prior_scale * pooled
    alpha_total = alpha.sum()
    in_class = values
    in_class_total = values.sum(axis=0, keepdims=True)
    rest = pooled - values
    rest_total = in_class_total.sum() - in_class_total
    delta = (np.log((in_class + alpha) / (in_class_total + alpha_total - in_class - alpha))
             - np.log((rest + alpha) / (rest_total + alpha_total - rest - alpha)))
    variance = 1.0 / (in_class + alpha) + 1.0 / (rest + alpha)
    return pd.DataFrame(delta / np.sqrt(variance), index=counts.index, columns=counts.columns)


def discover_keywords(words: pd.DataFrame, examples: pd.DataFrame, num_classes: int, per_class: int = 10,
                      min_count: int = 5, exclude: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """The `per_class` words most typical of each true class (largest log-odds z-score), among words
    seen at least min_count times that look like words and are not in `exclude` (e.g. stopwords).

    Returns keyword, class_index, score."""
    labels = examples.set_index("example_id")["label"]
    frame = pd.DataFrame({"word": words["word"].to_numpy(),
                          "label": labels.reindex(words["example_id"].to_numpy()).to_numpy()})
    counts = frame.groupby(["word", "label"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=range(num_classes), fill_value=0)
    wanted = [w for w in counts.index if w not in exclude and _WORDLIKE.match(w)]
    counts = counts.loc[wanted]
    counts = counts[counts.sum(axis=1) >= min_count]
    if counts.empty:
        return pd.DataFrame(columns=["keyword", "class_index", "score"])
    scores = log_odds_dirichlet(counts)
    rows = []
    for class_index in range(num_classes):
        best = scores[class_index].sort_values(ascending=False).head(per_class)
        rows += [(word, class_index, float(z)) for word, z in best.items() if z > 0]
    return pd.DataFrame(rows, columns=["keyword", "class_index", "score"])
