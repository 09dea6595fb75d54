"""A stored example back as an ExampleTrace, so a dataset page can draw it with Live text's per-layer view."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from pruning_core.trace import ExampleTrace

from .tables import padded


def trace_from_store(run: Mapping, example: Mapping, tokens: pd.DataFrame) -> ExampleTrace:
    """run: store.run_info(); example: one row of store.examples(); tokens: store.example_tokens().

    Only the predicted class's probability is stored, so the others share the rest evenly."""
    num_layers, names = int(run["num_layers"]), list(run["label_names"])
    scores = np.array([padded(values, num_layers) for values in tokens["scores"]], dtype=np.float32)
    scores = scores.reshape(-1, num_layers).T
    kept = tokens["drop_layer"].to_numpy()[None, :] > np.arange(num_layers)[:, None]
    prediction, probability = int(example["prediction"]), float(example["probability"])
    probabilities = [(1 - probability) / max(len(names) - 1, 1)] * len(names)
    probabilities[prediction] = probability
    thresholds = [None if np.isnan(value) else value for value in padded(example.get("thresholds"), num_layers)]
    return ExampleTrace(
        tokens=tokens["token"].tolist(), scores=scores, kept=kept, thresholds=thresholds,
        probabilities=probabilities, label_names=names, text=str(example["text"]),
        offsets=list(zip(tokens["char_start"].astype(int), tokens["char_end"].astype(int))),
        word_ids=[None if pd.isna(word) else int(word) for word in tokens["word_id"]],
        label=int(example["label"]), truncated=bool(example.get("truncated", False)))
