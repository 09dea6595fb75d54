"""Traced runs: a run's row, its metrics, examples and tokens, written whole from ExampleTraces, and read back
for the dashboard and the analysis pipeline."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from .connection import RunNotFound, db_file, delete_run, insert, now, reader, writer

__all__ = ["RUN_COLUMNS", "cell_examples", "example_tokens", "examples", "export_run", "layer_survival",
           "read_trace_rows", "run_info", "run_metrics", "runs", "set_write_seconds", "trace_tables",
           "write_trace_run"]

# runs()'s columns: those of the runs table it shows, then whether the run has been analysed.
RUN_COLUMNS = ("run_id", "dataset", "split", "training_run", "stage", "profile", "method", "n_examples", "num_layers",
               "accuracy", "macro_precision", "macro_recall", "macro_f1", "mean_kept", "keep_fraction",
               "label_names", "model_path", "seconds_model", "seconds_write", "created_at")


# ----------------------------------------------------------------------------------------------- writers

def trace_tables(traces: list, first_example_id: int = 0) -> tuple[pa.Table, pa.Table]:
    """ExampleTraces as rows of the `examples` and `tokens` tables (without run_id), built column-wise."""
    n_tokens = np.fromiter((len(t.tokens) for t in traces), dtype=np.int64, count=len(traces))
    example_ids = np.arange(first_example_id, first_example_id + len(traces), dtype=np.int32)
    num_layers = traces[0].num_layers if traces else 0
    examples_table = pa.table({
        "example_id": example_ids,
        "text": [t.text for t in traces],
        "label": pa.array([t.label for t in traces], pa.int32()),
        "prediction": pa.array([t.prediction for t in traces], pa.int32()),
        "probability": pa.array([t.probability for t in traces], pa.float64()),
        "n_tokens": pa.array(n_tokens, pa.int32()),
        "truncated": pa.array([t.truncated for t in traces], pa.bool_()),
        "kept_counts": pa.array([t.keep_counts for t in traces], pa.list_(pa.int32())),
        "thresholds": pa.array([t.thresholds for t in traces], pa.list_(pa.float64())),
    })
    if not traces:
        return examples_table, pa.table({})
    # Image traces have no character spans or words: (0, 0) and null.
    offsets = np.concatenate([np.asarray(t.offsets or [(0, 0)] * len(t.tokens), dtype=np.int32).reshape(-1, 2)
                              for t in traces])
    word_ids = np.fromiter((-1 if w is None else w for t in traces for w in (t.word_ids or [None] * len(t.tokens))),
                           dtype=np.int32, count=int(n_tokens.sum()))
    scores = np.concatenate([t.scores.T.reshape(-1) for t in traces]).astype(np.float32)
    score_offsets = np.arange(0, len(scores) + 1, num_layers, dtype=np.int32)
    tokens_table = pa.table({
        "example_id": np.repeat(example_ids, n_tokens),
        "position": np.concatenate([np.arange(n, dtype=np.int16) for n in n_tokens]),
        "token": [token for t in traces for token in t.tokens],
        "char_start": offsets[:, 0], "char_end": offsets[:, 1],
        "word_id": pa.array(word_ids, mask=word_ids < 0),
        "drop_layer": np.concatenate([t.drop_layer for t in traces]).astype(np.int8),
        "scores": pa.ListArray.from_arrays(pa.array(score_offsets), pa.array(scores)),
    })
    return examples_table, tokens_table


def write_trace_run(run: dict, class_metrics: pd.DataFrame, confusion: pd.DataFrame,
                    examples: pa.Table | pd.DataFrame, tokens: pa.Table | pd.DataFrame,
                    db: str | Path | None = None) -> None:
    """Replace run `run["run_id"]` (its trace and any analysis of it) in one transaction."""
    run = dict(run, created_at=run.get("created_at") or now())
    with writer(db) as con:
        delete_run(con, schema.RUN_TABLES + schema.ANALYSIS_TABLES, run["run_id"])
        insert(con, "runs", pd.DataFrame([run]))
        insert(con, "class_metrics", class_metrics)
        insert(con, "confusion", confusion)
        insert(con, "examples", examples)
        insert(con, "tokens", tokens)


def set_write_seconds(run_id: str, seconds: float, db: str | Path | None = None) -> None:
    """Record how long writing the trace took (known only once the run's transaction has committed)."""
    with writer(db) as con:
        con.execute("UPDATE runs SET seconds_write = ? WHERE run_id = ?", [seconds, run_id])


# ----------------------------------------------------------------------------------------------- readers

def runs(db: str | Path | None = None) -> pd.DataFrame:
    """Every traced run, newest first: RUN_COLUMNS (dataset, split, stage, method, accuracy, macro_f1, ...) and
    `analysed` (an empty frame with the same columns when there is no database yet)."""
    if not db_file(db).is_file():
        return pd.DataFrame(columns=[*RUN_COLUMNS, "analysed"])
    with reader(db) as con:
        return con.execute(f"""
            SELECT {", ".join(f"r.{column}" for column in RUN_COLUMNS)}, a.run_id IS NOT NULL AS analysed
            FROM runs r LEFT JOIN analyses a USING (run_id)
            ORDER BY r.created_at DESC""").df()


def run_info(run_id: str, db: str | Path | None = None) -> dict:
    """The run's row as a dict (config and method_config parsed from JSON)."""
    with reader(db) as con:
        return run_row(con, run_id)


def run_row(con: duckdb.DuckDBPyConnection, run_id: str, analysed: bool = False) -> dict:
    """run_info on an open connection; RunNotFound when there is no such run (or, if `analysed`, no analysis)."""
    frame = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).df()
    if frame.empty:
        raise RunNotFound(f"No run {run_id!r} in the database; see runs() for the ones there are.")
    info = frame.iloc[0].to_dict()
    info["label_names"] = list(info["label_names"])
    for key in ("config", "method_config"):
        info[key] = json.loads(info[key]) if info[key] else {}
    if analysed and not con.execute("SELECT count(*) FROM analyses WHERE run_id = ?", [run_id]).fetchone()[0]:
        raise RunNotFound(f"Run {run_id!r} has not been analysed yet: python -m pipelines.analyze --run {run_id}")
    return info


def run_metrics(run_id: str, db: str | Path | None = None) -> dict:
    """{"summary": the run's metrics (dict), "per_class": report per class (DataFrame), "confusion": labelled
    matrix (rows: true label names, columns: predicted label names)}."""
    with reader(db) as con:
        info = run_row(con, run_id)
        per_class = con.execute("""SELECT class_index, label, "precision", recall, f1, support FROM class_metrics
                                   WHERE run_id = ? ORDER BY class_index""", [run_id]).df()
        cells = con.execute("SELECT true_index, predicted_index, count FROM confusion WHERE run_id = ?",
                            [run_id]).df()
    names = info["label_names"]
    matrix = pd.DataFrame(0, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))
    for row in cells.itertuples():
        matrix.iloc[row.true_index, row.predicted_index] = row.count
    keys = ("run_id", "dataset", "split", "stage", "profile", "method", "n_examples", "accuracy",
            "macro_precision", "macro_recall", "macro_f1", "mean_kept", "keep_fraction", "seconds_model",
            "seconds_write")
    summary = {key: info[key] for key in keys}
    summary["mean_kept"] = list(summary["mean_kept"])
    summary["keep_fraction"] = list(summary["keep_fraction"])
    return {"summary": summary, "per_class": per_class, "confusion": matrix}


def examples(run_id: str, limit: int = 200, offset: int = 0, db: str | Path | None = None) -> pd.DataFrame:
    """One row per example: example_id, text, label, prediction, probability, correct, n_tokens, truncated,
    kept_counts and thresholds (lists per layer)."""
    with reader(db) as con:
        run_row(con, run_id)
        return con.execute("""
            SELECT example_id, text, label, prediction, probability, label = prediction AS correct, n_tokens,
                   truncated, kept_counts, thresholds
            FROM examples WHERE run_id = ? ORDER BY example_id LIMIT ? OFFSET ?""", [run_id, limit, offset]).df()


def cell_examples(run_id: str, true_index: int, predicted_index: int, limit: int = 200,
                  db: str | Path | None = None) -> pd.DataFrame:
    """The run's examples of true class `true_index` predicted as `predicted_index` (one confusion cell), most
    confident first: example_id, text, label, prediction, probability (that of the prediction)."""
    def whole(value: object) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0

    if not whole(limit):
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}.")
    with reader(db) as con:
        classes = len(run_row(con, run_id)["label_names"])
        for name, value in (("true_index", true_index), ("predicted_index", predicted_index)):
            if not whole(value) or value >= classes:
                raise ValueError(f"{name} must be a class index from 0 to {classes - 1}, got {value!r}.")
        return con.execute("""
            SELECT example_id, text, label, prediction, probability FROM examples
            WHERE run_id = ? AND label = ? AND prediction = ?
            ORDER BY probability DESC, example_id LIMIT ?""",
                           [run_id, int(true_index), int(predicted_index), int(limit)]).df()


def example_tokens(run_id: str, example_id: int, db: str | Path | None = None) -> pd.DataFrame:
    """One row per token of an example: position, token, char_start, char_end, word_id, drop_layer, scores (list
    per layer)."""
    with reader(db) as con:
        run_row(con, run_id)
        return con.execute("""
            SELECT position, token, char_start, char_end, word_id, drop_layer, scores
            FROM tokens WHERE run_id = ? AND example_id = ? ORDER BY position""", [run_id, example_id]).df()


def read_trace_rows(run_id: str, db: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(examples, tokens) of a run for the analysis pipeline; tokens without their scores."""
    with reader(db) as con:
        example_rows = con.execute("""SELECT example_id, text, label, prediction FROM examples
                                      WHERE run_id = ? ORDER BY example_id""", [run_id]).df()
        token_rows = con.execute("""
            SELECT example_id, position, token, char_start, char_end, word_id, drop_layer FROM tokens
            WHERE run_id = ? ORDER BY example_id, position""", [run_id]).df()
    return example_rows, token_rows


def class_key(by: str) -> str:
    """The examples' column a per-class table groups by: "all" (none), "true" (label) or "predicted"."""
    if by not in ("all", "true", "predicted"):
        raise ValueError(f"by must be 'all', 'true' or 'predicted', got {by!r}.")
    return {"all": "NULL::INTEGER", "true": "label", "predicted": "prediction"}[by]


def with_class_names(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """frame with class_name beside class_index ("all" where it is null)."""
    frame["class_name"] = [names[int(i)] if pd.notna(i) else "all" for i in frame["class_index"]]
    return frame


def layer_survival(run_id: str, by: str = "all", db: str | Path | None = None) -> pd.DataFrame:
    """Share of tokens alive after each layer, overall or per true/predicted class (by "all", "true" or
    "predicted"): class_index, layer, tokens, kept, survival, mean_kept (per example), examples, class_name.

    Reads the per-example kept counts (one short list per example), so it stays fast on full test sets."""
    key = class_key(by)
    with reader(db) as con:
        info = run_row(con, run_id)
        frame = con.execute(f"""
            WITH per_layer AS (
                SELECT {key} AS class_index, n_tokens, unnest(range(len(kept_counts))) AS layer,
                       unnest(kept_counts) AS kept
                FROM examples WHERE run_id = ?)
            SELECT class_index, layer, sum(n_tokens) AS tokens, sum(kept) AS kept,
                   sum(kept) / sum(n_tokens) AS survival, avg(kept) AS mean_kept, count(*) AS examples
            FROM per_layer GROUP BY class_index, layer ORDER BY class_index, layer""", [run_id]).df()
    return with_class_names(frame, info["label_names"])


def export_run(run_id: str, folder: str | Path, db: str | Path | None = None) -> list[Path]:
    """Write each table's rows of the run (its trace and its analysis) to folder/<table>.parquet; returns the
    files written."""
    run_info(run_id, db)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with reader(db) as con:
        for table in schema.RUN_TABLES + schema.ANALYSIS_TABLES:
            rows = con.sql(f"SELECT * FROM {table} WHERE run_id = ?", params=[run_id]).to_arrow_table()
            if rows.num_rows:
                path = folder / f"{table}.parquet"
                pq.write_table(rows, path)
                written.append(path)
    return written
