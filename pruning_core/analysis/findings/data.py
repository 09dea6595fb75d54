"""What the claims read from one analysed run (`RunData`), loaded from the store.

A word counts as retained (kept, reaching the classifier) when the classifier read it: alive on entry to the last
layer (`pruning_core.trace.reached_classifier`); what the last layer itself drops cannot change the prediction.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ... import storage as store
from ...trace import reached_classifier


class MissingData(ValueError):
    """The run lacks what a claim measures (a class, annotated words, stored representations)."""


@dataclass(frozen=True)
class RunData:
    """What the claims read from one analysed run. Rows of `examples` are the bootstrap's units."""

    run_id: str
    dataset: str
    label_names: list[str]
    num_layers: int
    examples: pd.DataFrame          # example_id, label, prediction (sorted by example_id)
    words: pd.DataFrame             # spaCy words: row (into examples), word, pos, is_stop, is_punct, kept (the
                                    # classifier read it: reached_classifier), bare (the word without surrounding
                                    # punctuation), has_letter
    vectors: np.ndarray | None = None       # (m, D) retained-token representation of the embedded examples
    vector_rows: np.ndarray | None = None   # (m,) their rows in examples

    @property
    def n(self) -> int:
        return len(self.examples)

    def class_index(self, name: str) -> int:
        if name not in self.label_names:
            raise MissingData(f"no class named {name!r} in this run (its classes: {', '.join(self.label_names)})")
        return self.label_names.index(name)


def run_data(info: dict, examples: pd.DataFrame, words: pd.DataFrame,
             representations: pd.DataFrame | None = None) -> RunData:
    """RunData from the store's frames: a run's info (store.run_info), its examples (example_id, label, prediction),
    its analysed words (store.analysed_words) and representations (store.representations; may be empty)."""
    examples = examples[["example_id", "label", "prediction"]].sort_values("example_id", ignore_index=True)
    row_of = pd.Series(np.arange(len(examples)), index=examples["example_id"].to_numpy())
    words = words[words["example_id"].isin(row_of.index)]
    frame = pd.DataFrame({"row": row_of.loc[words["example_id"].to_numpy()].to_numpy(),
                          "word": words["word"].astype(str).to_numpy(), "pos": words["pos"].astype(str).to_numpy(),
                          "is_stop": words["is_stop"].to_numpy(bool), "is_punct": words["is_punct"].to_numpy(bool),
                          "kept": reached_classifier(words["drop_layer"].to_numpy(), int(info["num_layers"]))})
    frame["bare"] = frame["word"].str.strip(string.punctuation)       # "inc." -> "inc", for matching word lists
    frame["has_letter"] = frame["word"].str.contains("[a-z]", regex=True)
    vectors = rows = None
    if representations is not None and len(representations):
        known = representations[representations["example_id"].isin(row_of.index)]
        vectors = np.stack([np.asarray(v, dtype=np.float64) for v in known["vector"]])
        rows = row_of.loc[known["example_id"].to_numpy()].to_numpy()
    return RunData(info["run_id"], info["dataset"], list(info["label_names"]), int(info["num_layers"]), examples,
                   frame, vectors, rows)


def load_run(run_id: str, db: str | Path | None = None) -> RunData:
    """RunData of a stored run; store.RunNotFound when there is no such run or it has not been analysed."""
    info = store.run_info(run_id, db)
    words = store.analysed_words(run_id, db)
    examples = store.examples(run_id, limit=max(int(info["n_examples"] or 0), 1), db=db)
    return run_data(info, examples, words, store.representations(run_id, db))
