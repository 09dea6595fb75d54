"""Faithfulness sets (pipelines.faithfulness): one per trained pruned model on a test sample, one row per example
comparing its predictions with those of its unpruned weights. Their summaries are computed above, in
pruning_core.analysis.faithfulness."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .connection import db_file, insert, now, reader, writer

__all__ = ["faithfulness_rows", "write_faithfulness"]


def write_faithfulness(faith_set: dict, rows: pd.DataFrame, db: str | Path | None = None) -> None:
    """Store one faithfulness set (its row in `faithfulness_sets`, one row per example in `faithfulness`) in one
    transaction, replacing the set of the same faith_id."""
    faith_set = dict(faith_set, created_at=faith_set.get("created_at") or now())
    with writer(db) as con:
        con.execute("DELETE FROM faithfulness WHERE faith_id = ?", [faith_set["faith_id"]])
        con.execute("DELETE FROM faithfulness_sets WHERE faith_id = ?", [faith_set["faith_id"]])
        insert(con, "faithfulness_sets", pd.DataFrame([faith_set]))
        insert(con, "faithfulness", rows.assign(faith_id=faith_set["faith_id"]))


def faithfulness_rows(dataset: str | None = None, training_run: str | None = None, profile: str | None = None,
                      db: str | Path | None = None) -> pd.DataFrame:
    """Every stored example of the chosen faithfulness sets with its set's dataset, training_run, stage, profile,
    method, label_names and config (an empty frame when there is no database yet)."""
    if not db_file(db).is_file():
        return pd.DataFrame(columns=["faith_id", "dataset", "training_run", "stage", "example_id", "label"])
    with reader(db) as con:
        return con.execute("""
            SELECT s.faith_id, s.dataset, s.training_run, s.stage, s.profile, s.method, s.label_names, s.config,
                   s.created_at, f.example_id, f.label, f.pruned_prediction, f.unpruned_prediction,
                   f.pruned_confidence, f.unpruned_confidence, f.full_probability, f.sufficiency,
                   f.comprehensiveness, f.n_kept, f.n_tokens
            FROM faithfulness_sets s JOIN faithfulness f USING (faith_id)
            WHERE (? IS NULL OR s.dataset = ?) AND (? IS NULL OR s.training_run = ?) AND (? IS NULL OR s.profile = ?)
            ORDER BY s.dataset, s.training_run, s.stage, f.example_id""",
                           [dataset, dataset, training_run, training_run, profile, profile]).df()
