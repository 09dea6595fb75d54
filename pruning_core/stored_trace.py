"""A stored example back as an ExampleTrace, so a dataset page can draw it with Live text's per-layer view."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from .live import dynamic_thresholds
from .tables import as_list, padded
from .trace import ExampleTrace


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
    trace = ExampleTrace(
        tokens=tokens["token"].tolist(), scores=scores, kept=kept, thresholds=[None] * num_layers,
        probabilities=probabilities, label_names=names, text=str(example["text"]),
        offsets=list(zip(tokens["char_start"].astype(int), tokens["char_end"].astype(int))),
        word_ids=[None if pd.isna(word) else int(word) for word in tokens["word_id"]],
        label=int(example["label"]), truncated=bool(example.get("truncated", False)))
    trace.thresholds = _thresholds(run, trace)
    return trace


def _thresholds(run: Mapping, trace: ExampleTrace) -> list[float | None]:
    """LTP's stored thresholds; TS-DTP's recomputed for this text; None for methods without one (top-k)."""
    config = run.get("method_config") or {}
    if run.get("method") == "ltp" and as_list(config.get("thresholds")):
        return [float(value) for value in config["thresholds"]][:trace.num_layers]
    if run.get("method") == "ts_dtp" and as_list(config.get("offsets")):
        return dynamic_thresholds(trace, [float(value) for value in config["offsets"]])
    return [None] * trace.num_layers

