"""Summaries of the stored faithfulness sets (storage.faithfulness; the per-example measures are computed by
pruning_core.text.faithfulness): how often each pruned model agrees with its unpruned weights, its mean sufficiency and
comprehensiveness with 95% bootstrap intervals, and its flips per class."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import storage
from ..metrics import bootstrap_mean

FAITHFULNESS_SUMMARY_COLUMNS = [
    "faith_id", "dataset", "training_run", "stage", "profile", "method", "n_examples", "agreement", "agreement_low",
    "agreement_high", "flip_rate", "sufficiency", "sufficiency_low", "sufficiency_high", "comprehensiveness",
    "comprehensiveness_low", "comprehensiveness_high", "kept_share", "label_names", "config", "created_at"]
BY_CLASS_COLUMNS = ["faith_id", "dataset", "training_run", "stage", "method", "class_index", "class_name", "examples",
                    "flips", "flip_rate"]


def faithfulness_summary(dataset: str | None = None, training_run: str | None = None, profile: str | None = None,
                         db: str | Path | None = None) -> pd.DataFrame:
    """One row per stored faithfulness set: how often the pruned model agrees with its unpruned weights (flip_rate =
    1 - agreement), mean sufficiency and comprehensiveness, each with a 95% bootstrap interval (10,000 resamples of
    the examples), and kept_share, the share of the tokens read that reached the classifier."""
    rows = storage.faithfulness_rows(dataset, training_run, profile, db)
    summaries = []
    for faith_id, group in rows.groupby("faith_id", sort=False):
        first = group.iloc[0]
        agreement = bootstrap_mean((group["pruned_prediction"] == group["unpruned_prediction"]).to_numpy(np.int8))
        sufficiency = bootstrap_mean(group["sufficiency"].to_numpy())
        comprehensiveness = bootstrap_mean(group["comprehensiveness"].to_numpy())
        summaries.append({
            "faith_id": faith_id, "dataset": first["dataset"], "training_run": first["training_run"],
            "stage": first["stage"], "profile": first["profile"], "method": first["method"], "n_examples": len(group),
            **dict(zip(("agreement", "agreement_low", "agreement_high"), agreement)), "flip_rate": 1 - agreement[0],
            **dict(zip(("sufficiency", "sufficiency_low", "sufficiency_high"), sufficiency)),
            **dict(zip(("comprehensiveness", "comprehensiveness_low", "comprehensiveness_high"), comprehensiveness)),
            "kept_share": group["n_kept"].sum() / max(int(group["n_tokens"].sum()), 1),
            "label_names": list(first["label_names"]), "config": first["config"], "created_at": first["created_at"]})
    return pd.DataFrame(summaries, columns=FAITHFULNESS_SUMMARY_COLUMNS)


def faithfulness_by_class(dataset: str | None = None, training_run: str | None = None, profile: str | None = None,
                          db: str | Path | None = None) -> pd.DataFrame:
    """Per stored faithfulness set and true class: examples, flips (pruned and unpruned predictions differ),
    flip_rate."""
    rows = storage.faithfulness_rows(dataset, training_run, profile, db)
    if rows.empty:
        return pd.DataFrame(columns=BY_CLASS_COLUMNS)
    rows = rows.assign(flip=rows["pruned_prediction"] != rows["unpruned_prediction"])
    frame = (rows.groupby(["faith_id", "dataset", "training_run", "stage", "method", "label"], sort=False)
             .agg(examples=("flip", "size"), flips=("flip", "sum")).reset_index()
             .rename(columns={"label": "class_index"}))
    names = rows.groupby("faith_id")["label_names"].first()
    frame["class_name"] = [list(names[f])[int(i)] for f, i in zip(frame["faith_id"], frame["class_index"])]
    frame["flip_rate"] = frame["flips"] / frame["examples"]
    return frame.sort_values(["dataset", "training_run", "stage", "class_index"], ignore_index=True)[BY_CLASS_COLUMNS]
