"""The DuckDB store: the schema (numbered migrations) and every SQL statement of the project.

Only pipelines write. DuckDB lets one process open a file read-write OR many open it read-only, so
writers compute everything first, then hold the read-write connection for one short transaction per
run (an interruption leaves nothing half-written); readers open read-only per call and turn a lock
conflict into `StoreBusy` ("The database is being updated; retry in a moment."). Values always
travel as parameters or registered Arrow/pandas tables, never inside SQL text.

Readers for the dashboard (each takes `db=None`: the default is `paths.db_path()`):
  runs()                                  every traced run: dataset, split, stage, method, accuracy, macro_f1, ...
  run_metrics(run_id)                     {"summary": dict, "per_class": DataFrame, "confusion": DataFrame}
                                          (confusion: rows true label names, columns predicted label names)
  examples(run_id, limit=200, offset=0)   one row per example: text, label, prediction, probability, correct, ...
  cell_examples(run_id, true_index, predicted_index, limit=200)
                                          one confusion cell's examples, most confident first: example_id,
                                          text, label, prediction, probability
  example_tokens(run_id, example_id)      one row per token: position, token, char span, drop_layer, scores (list)
  layer_survival(run_id, by="all")        per layer (and class when by is "true"/"predicted"): tokens, kept,
                                          survival (share alive after the layer), mean_kept per example
  retention(run_id, facet, by="all", layer=None)
                                          facet in FACETS ("pos", "entity", "stopword", "punctuation",
                                          "frequency"); per category, layer and class: total, kept, rate
  top_words(run_id, by="true", top=30, content_only=True)
                                          most retained words per class: rank, word, kept, occurrences, rate
  keyword_table(run_id, source=None)      study lists and discovered keywords: occurrences, examples, retention
                                          (list per layer), kept_final, accuracy_kept, accuracy_dropped, ...
  custom_keywords(run_id, keywords)       the same columns for words a user types, computed from the stored trace
  analysed_words(run_id)                  spaCy's words of the run: example_id, word, pos, entity, is_stop, is_punct,
                                          frequency, drop_layer (one row per word; for per-example statistics)
  representations(run_id)                 example_id, vector: the retained-token representation of each embedded
                                          example (empty for runs analysed before it was stored)
  projections(run_id, level="example", method="umap")
                                          stored t-SNE/UMAP points with label, prediction, correct and the
                                          tokens the classifier read as text (alive on entry to the last layer;
                                          level "token": the token and its word)
  benchmarks(dataset=None, bench_id=None, profile=None)
                                          the latest sweep per dataset (or one sweep): setting, method, accuracy,
                                          macro_f1, mean_kept (list), flops, throughput_b32, latency_b1_ms, speedup...,
                                          predictions and example_ids (lists, NA when not stored), and the
                                          sweep's labels and lengths (lists) and config (JSON)
  export_run(run_id, folder)              every table's rows of a run as parquet files; returns their paths
  faithfulness_summary(dataset=None, training_run=None, profile=None)
                                          per stored faithfulness set (a trained pruned model on a test sample):
                                          agreement with its unpruned weights, flip_rate, mean sufficiency and
                                          comprehensiveness, each with a 95% bootstrap interval; kept_share
  faithfulness_by_class(dataset=None, training_run=None, profile=None)
                                          per set and true class: examples, flips, flip_rate
  faithfulness_rows(dataset=None, training_run=None, profile=None)   the per-example rows of those sets
Errors: `StoreBusy` (a pipeline is writing), `RunNotFound` (no database or no such run yet, or not analysed
yet), `StoreUnreadable` (a damaged, empty, foreign or newer database file: never written to).
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import paths
from .analysis.keywords import keyword_stats
from .metrics import bootstrap_mean
from .trace import read_layer

FACETS = ("pos", "entity", "stopword", "punctuation", "frequency")
BUSY_MESSAGE = "The database is being updated; retry in a moment."

# Append-only: a released migration is never edited, a change is a new entry.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY, dataset VARCHAR, split VARCHAR, model_path VARCHAR, training_run VARCHAR,
        stage VARCHAR, profile VARCHAR, method VARCHAR, method_config VARCHAR, config VARCHAR,
        label_names VARCHAR[], num_layers INTEGER, n_examples INTEGER, accuracy DOUBLE, macro_precision DOUBLE,
        macro_recall DOUBLE, macro_f1 DOUBLE, mean_kept DOUBLE[], keep_fraction DOUBLE[],
        seconds_model DOUBLE, seconds_write DOUBLE, created_at TIMESTAMP);
    CREATE TABLE class_metrics (run_id VARCHAR, class_index INTEGER, label VARCHAR, "precision" DOUBLE,
        recall DOUBLE, f1 DOUBLE, support INTEGER);
    CREATE TABLE confusion (run_id VARCHAR, true_index INTEGER, predicted_index INTEGER, count INTEGER);
    CREATE TABLE examples (run_id VARCHAR, example_id INTEGER, text VARCHAR, label INTEGER, prediction INTEGER,
        probability DOUBLE, n_tokens INTEGER, truncated BOOLEAN, kept_counts INTEGER[]);
    CREATE TABLE tokens (run_id VARCHAR, example_id INTEGER, position SMALLINT, token VARCHAR,
        char_start INTEGER, char_end INTEGER, word_id INTEGER, drop_layer TINYINT, scores FLOAT[]);
    CREATE TABLE analyses (run_id VARCHAR PRIMARY KEY, config VARCHAR, created_at TIMESTAMP);
    CREATE TABLE words (run_id VARCHAR, example_id INTEGER, word_index INTEGER, word VARCHAR,
        n_pieces SMALLINT, drop_layer TINYINT);
    CREATE TABLE spacy_words (run_id VARCHAR, example_id INTEGER, word_index INTEGER, word VARCHAR,
        pos VARCHAR, entity VARCHAR, is_stop BOOLEAN, is_punct BOOLEAN, frequency VARCHAR, drop_layer TINYINT);
    CREATE TABLE retention (run_id VARCHAR, facet VARCHAR, category VARCHAR, class_by VARCHAR,
        class_index INTEGER, layer INTEGER, total BIGINT, kept BIGINT);
    CREATE TABLE top_words (run_id VARCHAR, class_by VARCHAR, class_index INTEGER, content_only BOOLEAN,
        rank INTEGER, word VARCHAR, kept BIGINT, occurrences BIGINT);
    CREATE TABLE keywords (run_id VARCHAR, keyword VARCHAR, source VARCHAR, class_index INTEGER, score DOUBLE,
        occurrences BIGINT, examples BIGINT, retention DOUBLE[], kept_final DOUBLE, examples_kept BIGINT,
        examples_dropped BIGINT, accuracy_kept DOUBLE, accuracy_dropped DOUBLE);
    CREATE TABLE projections (run_id VARCHAR, level VARCHAR, method VARCHAR, example_id INTEGER,
        position INTEGER, x DOUBLE, y DOUBLE);
    CREATE TABLE benchmark_sweeps (bench_id VARCHAR PRIMARY KEY, dataset VARCHAR, profile VARCHAR,
        config VARCHAR, created_at TIMESTAMP);
    CREATE TABLE benchmarks (bench_id VARCHAR, dataset VARCHAR, setting VARCHAR, method VARCHAR,
        method_config VARCHAR, thresholds DOUBLE[], model_path VARCHAR, n_examples INTEGER, accuracy DOUBLE,
        macro_f1 DOUBLE, mean_kept DOUBLE[], keep_fraction DOUBLE[], flops DOUBLE, throughput_b32 DOUBLE,
        latency_b1_ms DOUBLE, speedup_b32 DOUBLE, speedup_b1 DOUBLE);
    """,
    # Per-example predictions of each setting and the sweep's labels, for paired comparisons.
    """
    ALTER TABLE benchmarks ADD COLUMN predictions INTEGER[];
    ALTER TABLE benchmark_sweeps ADD COLUMN labels INTEGER[];
    """,
    # Each example's own cut-off per layer (TS-DTP's differs from text to text), as the trace recorded it.
    """
    ALTER TABLE examples ADD COLUMN thresholds DOUBLE[];
    """,
    # Faithfulness of a trained pruned model to its unpruned weights over a test sample (pipelines/faithfulness.py):
    # one set per (training run, stage), one row per example.
    """
    CREATE TABLE faithfulness_sets (faith_id VARCHAR PRIMARY KEY, dataset VARCHAR, training_run VARCHAR,
        stage VARCHAR, profile VARCHAR, method VARCHAR, method_config VARCHAR, model_path VARCHAR,
        label_names VARCHAR[], n_examples INTEGER, config VARCHAR, seconds DOUBLE, created_at TIMESTAMP);
    CREATE TABLE faithfulness (faith_id VARCHAR, example_id INTEGER, label INTEGER, pruned_prediction INTEGER,
        unpruned_prediction INTEGER, pruned_confidence DOUBLE, unpruned_confidence DOUBLE, full_probability DOUBLE,
        sufficiency DOUBLE, comprehensiveness DOUBLE, n_kept INTEGER, n_tokens INTEGER);
    """,
    # The retained-token representation of each embedded example (the vectors the projections were made from), so
    # cluster claims are measured in that space (pruning_core/analysis/findings.py), not on the 2-D map.
    """
    CREATE TABLE representations (run_id VARCHAR, example_id INTEGER, vector FLOAT[]);
    """,
    # Each row's examples by id (their row in the split's file), in the order of its predictions, so pairing checks
    # them; and the sweep's tokens per example at its length (accuracy by text length).
    """
    ALTER TABLE benchmarks ADD COLUMN example_ids INTEGER[];
    ALTER TABLE benchmark_sweeps ADD COLUMN lengths INTEGER[];
    """,
]
RUN_TABLES = ("runs", "class_metrics", "confusion", "examples", "tokens")
ANALYSIS_TABLES = ("analyses", "words", "spacy_words", "retention", "top_words", "keywords", "projections",
                   "representations")


class StoreBusy(RuntimeError):
    """A pipeline holds the database; the page should say so and let the user retry."""

    def __init__(self, message: str = BUSY_MESSAGE):
        super().__init__(message)


class RunNotFound(LookupError):
    """No such run (or the run has not been analysed yet); the message says what to run."""


class StoreUnreadable(RuntimeError):
    """The database file cannot be used: damaged, empty, another program's, or written by a newer version. The
    message says what is wrong and what to do; nothing is written to such a file."""


# Replacement scans off: DuckDB would otherwise read a missing table's name as a same-named Python variable.
CONNECTION_CONFIG = {"python_enable_replacements": False}
REBUILD = "move it away (or delete it) and rebuild it with `python -m pipelines.demo`"


def _path(db: str | Path | None) -> Path:
    return paths.db_path(db)


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "conflicting" in text or "different configuration" in text


# ----------------------------------------------------------------------------------------------- connections

@contextmanager
def _reader(db: str | Path | None, wait_seconds: float = 1.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection to a checked database (one from an older schema is upgraded first);
    StoreBusy when a writer holds the file, StoreUnreadable when it cannot be used."""
    path = _path(db)
    if not path.is_file():
        raise RunNotFound(f"No database at {path} yet: run `python -m pipelines.demo` (or pipelines.trace).")
    connection = _connect(path, read_only=True, wait_seconds=wait_seconds)
    try:
        version = _checked_version(connection, path)
    except BaseException:
        connection.close()
        raise
    if version == 0:
        connection.close()
        raise RunNotFound(f"The database at {path} holds no runs yet: run `python -m pipelines.demo` (or "
                          "pipelines.trace).")
    if version < len(MIGRATIONS):   # written before the latest migration: upgrade it, then read
        connection.close()
        with _writer(path, wait_seconds=wait_seconds):
            pass
        connection = _connect(path, read_only=True, wait_seconds=wait_seconds)
    try:
        yield connection
    except duckdb.CatalogException as error:
        raise StoreUnreadable(f"The database at {path} is incomplete ({_first_line(error)}): {REBUILD}.") from None
    finally:
        connection.close()


def _connect(path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting while another process holds it (StoreBusy after wait_seconds)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=CONNECTION_CONFIG)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if "not a valid DuckDB database" in str(error):
                empty = path.exists() and path.stat().st_size == 0
                what = "is empty (0 bytes)" if empty else "is damaged or not a DuckDB database"
                raise StoreUnreadable(f"The database file {path} {what}: {REBUILD}.") from None
            if not _is_lock_error(error):
                raise
            if time.monotonic() > deadline:
                raise StoreBusy() from None
            time.sleep(0.2)   # a writer holds the file for one short transaction


def _checked_version(connection: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The migrations this database has had (0: a new, empty database); StoreUnreadable for another program's
    database or one from a newer version of this tool."""
    tables = {row[0] for row in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    if "schema_version" not in tables:
        if tables:
            shown = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
            raise StoreUnreadable(f"The database at {path} belongs to another program (its tables: {shown}). Point "
                                  f"$LENS_ARTIFACTS or --db elsewhere, or {REBUILD}.")
        return 0
    version = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
    if version > len(MIGRATIONS):
        raise StoreUnreadable(f"The database at {path} was written by a newer version of Token Pruning Lens "
                              f"(schema {version}; this one knows {len(MIGRATIONS)}): update this checkout "
                              "(`git pull`) or use another database.")
    return version


@contextmanager
def _writer(db: str | Path | None, wait_seconds: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """The read-write connection, checked and migrated, inside one transaction that commits only if the block
    succeeds. A damaged, foreign or newer database is refused (StoreUnreadable), never overwritten."""
    path = _path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = _connect(path, read_only=False, wait_seconds=wait_seconds)
    try:
        _migrate(connection, _checked_version(connection, path))
        connection.execute("BEGIN TRANSACTION")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


def _migrate(connection: duckdb.DuckDBPyConnection, current: int) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
        connection.execute("BEGIN TRANSACTION")
        connection.execute(statements)
        connection.execute("INSERT INTO schema_version VALUES (?)", [version])
        connection.execute("COMMIT")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def schema_version(db: str | Path | None = None) -> int:
    with _reader(db) as con:
        return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame | pa.Table) -> None:
    """Insert a DataFrame or Arrow table by column name (table names come from this module only)."""
    if len(rows) == 0:
        return
    con.register("incoming", rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def _delete_run(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], run_id: str) -> None:
    for table in tables:
        con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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
    run = dict(run, created_at=run.get("created_at") or _now())
    with _writer(db) as con:
        _delete_run(con, RUN_TABLES + ANALYSIS_TABLES, run["run_id"])
        _insert(con, "runs", pd.DataFrame([run]))
        _insert(con, "class_metrics", class_metrics)
        _insert(con, "confusion", confusion)
        _insert(con, "examples", examples)
        _insert(con, "tokens", tokens)


def write_analysis(run_id: str, tables: dict[str, pd.DataFrame], config: dict,
                   db: str | Path | None = None) -> None:
    """Replace the run's analysis tables (keys of `tables` among ANALYSIS_TABLES) in one transaction."""
    unknown = set(tables) - set(ANALYSIS_TABLES)
    if unknown:
        raise ValueError(f"Not analysis tables: {sorted(unknown)}")
    with _writer(db) as con:
        if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0] == 0:
            raise RunNotFound(f"No run {run_id!r} in the database.")
        _delete_run(con, ANALYSIS_TABLES, run_id)
        for name, frame in tables.items():
            _insert(con, name, frame.assign(run_id=run_id))
        _insert(con, "analyses", pd.DataFrame([{"run_id": run_id, "config": json.dumps(config),
                                                "created_at": _now()}]))


def write_representations(run_id: str, rows: pd.DataFrame, db: str | Path | None = None) -> None:
    """Replace the run's stored representations (example_id, vector) alone, in one transaction: for runs analysed
    before they were stored (`pipelines.analyze --representations-only`)."""
    with _writer(db) as con:
        if con.execute("SELECT count(*) FROM analyses WHERE run_id = ?", [run_id]).fetchone()[0] == 0:
            raise RunNotFound(f"Run {run_id!r} has not been analysed yet: python -m pipelines.analyze --run {run_id}")
        con.execute("DELETE FROM representations WHERE run_id = ?", [run_id])
        _insert(con, "representations", rows.assign(run_id=run_id))


def set_write_seconds(run_id: str, seconds: float, db: str | Path | None = None) -> None:
    """Record how long writing the trace took (known only once the run's transaction has committed)."""
    with _writer(db) as con:
        con.execute("UPDATE runs SET seconds_write = ? WHERE run_id = ?", [seconds, run_id])


def write_benchmark(sweep: dict, rows: pd.DataFrame, db: str | Path | None = None) -> None:
    """Store one benchmark sweep (its settings side by side) in one transaction. Columns are matched by
    name, so a sweep without labels or rows without predictions (older sweeps) leave those NULL."""
    sweep = dict(sweep, created_at=sweep.get("created_at") or _now())
    with _writer(db) as con:
        con.execute("DELETE FROM benchmarks WHERE bench_id = ?", [sweep["bench_id"]])
        con.execute("DELETE FROM benchmark_sweeps WHERE bench_id = ?", [sweep["bench_id"]])
        _insert(con, "benchmark_sweeps", pd.DataFrame([sweep]))
        _insert(con, "benchmarks", rows.assign(bench_id=sweep["bench_id"], dataset=sweep["dataset"]))


def write_faithfulness(faith_set: dict, rows: pd.DataFrame, db: str | Path | None = None) -> None:
    """Store one faithfulness set (its row in `faithfulness_sets`, one row per example in `faithfulness`) in one
    transaction, replacing the set of the same faith_id."""
    faith_set = dict(faith_set, created_at=faith_set.get("created_at") or _now())
    with _writer(db) as con:
        con.execute("DELETE FROM faithfulness WHERE faith_id = ?", [faith_set["faith_id"]])
        con.execute("DELETE FROM faithfulness_sets WHERE faith_id = ?", [faith_set["faith_id"]])
        _insert(con, "faithfulness_sets", pd.DataFrame([faith_set]))
        _insert(con, "faithfulness", rows.assign(faith_id=faith_set["faith_id"]))


# ----------------------------------------------------------------------------------------------- readers

# runs()'s columns: those of the runs table it shows, then whether the run has been analysed.
RUN_COLUMNS = ("run_id", "dataset", "split", "training_run", "stage", "profile", "method", "n_examples", "num_layers",
               "accuracy", "macro_precision", "macro_recall", "macro_f1", "mean_kept", "keep_fraction",
               "label_names", "model_path", "seconds_model", "seconds_write", "created_at")


def runs(db: str | Path | None = None) -> pd.DataFrame:
    """Every run, newest first (an empty frame with the same columns when there is no database yet)."""
    if not _path(db).is_file():
        return pd.DataFrame(columns=[*RUN_COLUMNS, "analysed"])
    with _reader(db) as con:
        return con.execute(f"""
            SELECT {", ".join(f"r.{column}" for column in RUN_COLUMNS)}, a.run_id IS NOT NULL AS analysed
            FROM runs r LEFT JOIN analyses a USING (run_id)
            ORDER BY r.created_at DESC""").df()


def run_info(run_id: str, db: str | Path | None = None) -> dict:
    """The run's row as a dict (config and method_config parsed from JSON)."""
    with _reader(db) as con:
        return _run_row(con, run_id)


def _run_row(con: duckdb.DuckDBPyConnection, run_id: str, analysed: bool = False) -> dict:
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
    """{"summary": the run's metrics, "per_class": report per class, "confusion": labelled matrix}."""
    with _reader(db) as con:
        info = _run_row(con, run_id)
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
    with _reader(db) as con:
        _run_row(con, run_id)
        return con.execute("""
            SELECT example_id, text, label, prediction, probability, label = prediction AS correct, n_tokens,
                   truncated, kept_counts, thresholds
            FROM examples WHERE run_id = ? ORDER BY example_id LIMIT ? OFFSET ?""", [run_id, limit, offset]).df()


def example_tokens(run_id: str, example_id: int, db: str | Path | None = None) -> pd.DataFrame:
    with _reader(db) as con:
        _run_row(con, run_id)
        return con.execute("""
            SELECT position, token, char_start, char_end, word_id, drop_layer, scores
            FROM tokens WHERE run_id = ? AND example_id = ? ORDER BY position""", [run_id, example_id]).df()


def read_trace_rows(run_id: str, db: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(examples, tokens) of a run for the analysis pipeline; tokens without their scores."""
    with _reader(db) as con:
        example_rows = con.execute("""SELECT example_id, text, label, prediction FROM examples
                                      WHERE run_id = ? ORDER BY example_id""", [run_id]).df()
        token_rows = con.execute("""
            SELECT example_id, position, token, char_start, char_end, word_id, drop_layer FROM tokens
            WHERE run_id = ? ORDER BY example_id, position""", [run_id]).df()
    return example_rows, token_rows


def _class_key(by: str) -> str:
    if by not in ("all", "true", "predicted"):
        raise ValueError(f"by must be 'all', 'true' or 'predicted', got {by!r}.")
    return {"all": "NULL::INTEGER", "true": "label", "predicted": "prediction"}[by]


def _with_class_names(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    frame["class_name"] = [names[int(i)] if pd.notna(i) else "all" for i in frame["class_index"]]
    return frame


def layer_survival(run_id: str, by: str = "all", db: str | Path | None = None) -> pd.DataFrame:
    """Share of tokens alive after each layer, overall or per true/predicted class.

    Reads the per-example kept counts (one short list per example), so it stays fast on full test sets."""
    key = _class_key(by)
    with _reader(db) as con:
        info = _run_row(con, run_id)
        frame = con.execute(f"""
            WITH per_layer AS (
                SELECT {key} AS class_index, n_tokens, unnest(range(len(kept_counts))) AS layer,
                       unnest(kept_counts) AS kept
                FROM examples WHERE run_id = ?)
            SELECT class_index, layer, sum(n_tokens) AS tokens, sum(kept) AS kept,
                   sum(kept) / sum(n_tokens) AS survival, avg(kept) AS mean_kept, count(*) AS examples
            FROM per_layer GROUP BY class_index, layer ORDER BY class_index, layer""", [run_id]).df()
    return _with_class_names(frame, info["label_names"])


def retention(run_id: str, facet: str, by: str = "all", layer: int | None = None,
              db: str | Path | None = None) -> pd.DataFrame:
    """Retention per category of a facet: rate = kept / total words of that category alive after `layer`
    (every layer when None); by true or predicted class when `by` says so."""
    if facet not in FACETS:
        raise ValueError(f"facet must be one of {', '.join(FACETS)}, got {facet!r}.")
    _class_key(by)
    with _reader(db) as con:
        info = _run_row(con, run_id, analysed=True)
        frame = con.execute("""
            SELECT category, class_index, layer, total, kept, kept / total AS rate FROM retention
            WHERE run_id = ? AND facet = ? AND class_by = ? AND (? IS NULL OR layer = ?)
            ORDER BY class_index NULLS FIRST, layer, total DESC""", [run_id, facet, by, layer, layer]).df()
    return _with_class_names(frame, info["label_names"])


def top_words(run_id: str, by: str = "true", top: int = 30, content_only: bool = True,
              db: str | Path | None = None) -> pd.DataFrame:
    """The words most often kept to the classifier, per true or predicted class."""
    if by not in ("true", "predicted"):
        raise ValueError(f"by must be 'true' or 'predicted', got {by!r}.")
    with _reader(db) as con:
        info = _run_row(con, run_id, analysed=True)
        frame = con.execute("""
            SELECT class_index, rank, word, kept, occurrences, kept / occurrences AS rate FROM top_words
            WHERE run_id = ? AND class_by = ? AND content_only = ? AND rank <= ?
            ORDER BY class_index, rank""", [run_id, by, content_only, top]).df()
    return _with_class_names(frame, info["label_names"])


def keyword_table(run_id: str, source: str | None = None, db: str | Path | None = None) -> pd.DataFrame:
    """Stored keyword retention: source 'study' (the study's lists), 'discovered' (log-odds), or both."""
    with _reader(db) as con:
        info = _run_row(con, run_id, analysed=True)
        frame = con.execute("""
            SELECT keyword, source, class_index, score, occurrences, examples, retention, kept_final,
                   examples_kept, examples_dropped, accuracy_kept, accuracy_dropped FROM keywords
            WHERE run_id = ? AND (? IS NULL OR source = ?)
            ORDER BY source DESC, class_index, occurrences DESC""", [run_id, source, source]).df()
    return _with_class_names(frame, info["label_names"])


def custom_keywords(run_id: str, keywords: list[str], db: str | Path | None = None) -> pd.DataFrame:
    """Keyword retention for words a user types (case-insensitive), from the run's stored words."""
    wanted = sorted({k.strip().lower() for k in keywords if k and k.strip()})
    with _reader(db) as con:
        info = _run_row(con, run_id, analysed=True)
        words = con.execute("""SELECT example_id, word, drop_layer FROM words
                               WHERE run_id = ? AND list_contains(?, word)""", [run_id, wanted]).df()
        example_rows = con.execute("""SELECT example_id, label, prediction FROM examples WHERE run_id = ?
                                      AND example_id IN (SELECT example_id FROM words WHERE run_id = ?
                                                         AND list_contains(?, word))""",
                                   [run_id, run_id, wanted]).df()
    return keyword_stats(words, example_rows, wanted, info["num_layers"])


def analysed_words(run_id: str, db: str | Path | None = None) -> pd.DataFrame:
    """The run's spaCy words with their annotations and drop layer, one row per word."""
    with _reader(db) as con:
        _run_row(con, run_id, analysed=True)
        return con.execute("""
            SELECT example_id, word, pos, entity, is_stop, is_punct, frequency, drop_layer FROM spacy_words
            WHERE run_id = ? ORDER BY example_id, word_index""", [run_id]).df()


def representations(run_id: str, db: str | Path | None = None) -> pd.DataFrame:
    """The stored retained-token representation of each embedded example: example_id, vector (list of floats)."""
    with _reader(db) as con:
        _run_row(con, run_id, analysed=True)
        return con.execute("SELECT example_id, vector FROM representations WHERE run_id = ? ORDER BY example_id",
                           [run_id]).df()


def projections(run_id: str, level: str = "example", method: str = "umap",
                db: str | Path | None = None) -> pd.DataFrame:
    """Stored 2-D points with what a hover needs: label, prediction, correctness, retained text or token."""
    if level not in ("example", "token"):
        raise ValueError(f"level must be 'example' or 'token', got {level!r}.")
    with _reader(db) as con:
        info = _run_row(con, run_id, analysed=True)
        read_after = read_layer(info["num_layers"])   # the tokens alive after it are those the classifier read
        if level == "example":
            frame = con.execute("""
                WITH points AS (SELECT example_id, x, y FROM projections
                                WHERE run_id = ? AND level = 'example' AND method = ?),
                     retained AS (SELECT example_id, string_agg(token, ' ' ORDER BY position) AS retained_text
                                  FROM tokens WHERE run_id = ? AND drop_layer > ? AND word_id IS NOT NULL
                                  AND example_id IN (SELECT example_id FROM points) GROUP BY example_id)
                SELECT p.example_id, p.x, p.y, e.label, e.prediction, e.label = e.prediction AS correct,
                       coalesce(r.retained_text, '') AS retained_text, e.text
                FROM points p JOIN examples e ON e.run_id = ? AND e.example_id = p.example_id
                LEFT JOIN retained r ON r.example_id = p.example_id ORDER BY p.example_id""",
                                  [run_id, method, run_id, read_after, run_id]).df()
        else:
            frame = con.execute("""
                SELECT p.example_id, p.position, p.x, p.y, t.token, w.word, e.label, e.prediction,
                       e.label = e.prediction AS correct
                FROM projections p
                JOIN tokens t ON t.run_id = p.run_id AND t.example_id = p.example_id AND t.position = p.position
                JOIN examples e ON e.run_id = p.run_id AND e.example_id = p.example_id
                LEFT JOIN words w ON w.run_id = p.run_id AND w.example_id = p.example_id
                                 AND w.word_index = t.word_id
                WHERE p.run_id = ? AND p.level = 'token' AND p.method = ?
                ORDER BY p.example_id, p.position""", [run_id, method]).df()
    names = info["label_names"]
    frame["label_name"] = [names[i] for i in frame["label"]]
    frame["predicted_name"] = [names[i] for i in frame["prediction"]]
    return frame


# benchmarks()'s columns: the setting's row (b), then its sweep's (c).
BENCHMARK_COLUMNS = ("b.bench_id", "b.dataset", "c.profile", "b.setting", "b.method", "b.method_config",
                     "b.thresholds", "b.model_path", "b.n_examples", "b.accuracy", "b.macro_f1", "b.mean_kept",
                     "b.keep_fraction", "b.flops", "b.throughput_b32", "b.latency_b1_ms", "b.speedup_b32",
                     "b.speedup_b1", "b.predictions", "b.example_ids", "c.labels", "c.lengths", "c.config",
                     "c.created_at")


def benchmarks(dataset: str | None = None, bench_id: str | None = None, profile: str | None = None,
               db: str | Path | None = None) -> pd.DataFrame:
    """Benchmark rows of one sweep (bench_id), or of the latest sweep of each dataset (of a profile); an empty
    frame with the same columns when there is no database yet."""
    if not _path(db).is_file():
        return pd.DataFrame(columns=[column.split(".")[1] for column in BENCHMARK_COLUMNS])
    with _reader(db) as con:
        return con.execute(f"""
            WITH chosen AS (
                SELECT bench_id, profile, config, labels, lengths, created_at FROM benchmark_sweeps
                WHERE (? IS NULL OR dataset = ?) AND (? IS NULL OR bench_id = ?) AND (? IS NULL OR profile = ?)
                QUALIFY ? IS NOT NULL OR row_number() OVER (PARTITION BY dataset ORDER BY created_at DESC) = 1)
            SELECT {", ".join(BENCHMARK_COLUMNS)}
            FROM benchmarks b JOIN chosen c USING (bench_id)
            ORDER BY b.dataset, b.flops DESC""", [dataset, dataset, bench_id, bench_id, profile, profile, bench_id]).df()


FAITHFULNESS_SUMMARY_COLUMNS = [
    "faith_id", "dataset", "training_run", "stage", "profile", "method", "n_examples", "agreement", "agreement_low",
    "agreement_high", "flip_rate", "sufficiency", "sufficiency_low", "sufficiency_high", "comprehensiveness",
    "comprehensiveness_low", "comprehensiveness_high", "kept_share", "label_names", "config", "created_at"]


def faithfulness_rows(dataset: str | None = None, training_run: str | None = None, profile: str | None = None,
                      db: str | Path | None = None) -> pd.DataFrame:
    """Every stored example of the chosen faithfulness sets with its set's dataset, training_run, stage, profile,
    method, label_names and config (an empty frame when there is no database yet)."""
    if not _path(db).is_file():
        return pd.DataFrame(columns=["faith_id", "dataset", "training_run", "stage", "example_id", "label"])
    with _reader(db) as con:
        return con.execute("""
            SELECT s.faith_id, s.dataset, s.training_run, s.stage, s.profile, s.method, s.label_names, s.config,
                   s.created_at, f.example_id, f.label, f.pruned_prediction, f.unpruned_prediction,
                   f.pruned_confidence, f.unpruned_confidence, f.full_probability, f.sufficiency,
                   f.comprehensiveness, f.n_kept, f.n_tokens
            FROM faithfulness_sets s JOIN faithfulness f USING (faith_id)
            WHERE (? IS NULL OR s.dataset = ?) AND (? IS NULL OR s.training_run = ?) AND (? IS NULL OR s.profile = ?)
            ORDER BY s.dataset, s.training_run, s.stage, f.example_id""",
                           [dataset, dataset, training_run, training_run, profile, profile]).df()


def faithfulness_summary(dataset: str | None = None, training_run: str | None = None, profile: str | None = None,
                         db: str | Path | None = None) -> pd.DataFrame:
    """One row per faithfulness set: how often the pruned model agrees with its unpruned weights (flip_rate =
    1 - agreement), mean sufficiency and comprehensiveness, each with a 95% bootstrap interval (10,000 resamples of
    the examples), and kept_share, the share of the tokens read that reached the classifier."""
    rows = faithfulness_rows(dataset, training_run, profile, db)
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
    """Per faithfulness set and true class: examples, flips (pruned and unpruned predictions differ), flip_rate."""
    rows = faithfulness_rows(dataset, training_run, profile, db)
    columns = ["faith_id", "dataset", "training_run", "stage", "method", "class_index", "class_name", "examples",
               "flips", "flip_rate"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows.assign(flip=rows["pruned_prediction"] != rows["unpruned_prediction"])
    frame = (rows.groupby(["faith_id", "dataset", "training_run", "stage", "method", "label"], sort=False)
             .agg(examples=("flip", "size"), flips=("flip", "sum")).reset_index()
             .rename(columns={"label": "class_index"}))
    names = rows.groupby("faith_id")["label_names"].first()
    frame["class_name"] = [list(names[f])[int(i)] for f, i in zip(frame["faith_id"], frame["class_index"])]
    frame["flip_rate"] = frame["flips"] / frame["examples"]
    return frame.sort_values(["dataset", "training_run", "stage", "class_index"], ignore_index=True)[columns]


def export_run(run_id: str, folder: str | Path, db: str | Path | None = None) -> list[Path]:
    """Write each table's rows of the run to folder/<table>.parquet; returns the files written."""
    run_info(run_id, db)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with _reader(db) as con:
        for table in RUN_TABLES + ANALYSIS_TABLES:
            rows = con.sql(f"SELECT * FROM {table} WHERE run_id = ?", params=[run_id]).to_arrow_table()
            if rows.num_rows:
                path = folder / f"{table}.parquet"
                pq.write_table(rows, path)
                written.append(path)
    return written


def cell_examples(run_id: str, true_index: int, predicted_index: int, limit: int = 200,
                  db: str | Path | None = None) -> pd.DataFrame:
    """The run's examples of true class `true_index` predicted as `predicted_index` (one confusion cell), most
    confident first: example_id, text, label, prediction, probability (that of the prediction)."""
    def whole(value: object) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0

    if not whole(limit):
        raise ValueError(f"limit must be a non-negative integer, got {limit!r}.")
    with _reader(db) as con:
        classes = len(_run_row(con, run_id)["label_names"])
        for name, value in (("true_index", true_index), ("predicted_index", predicted_index)):
            if not whole(value) or value >= classes:
                raise ValueError(f"{name} must be a class index from 0 to {classes - 1}, got {value!r}.")
        return con.execute("""
            SELECT example_id, text, label, prediction, probability FROM examples
            WHERE run_id = ? AND label = ? AND prediction = ?
            ORDER BY probability DESC, example_id LIMIT ?""",
                           [run_id, int(true_index), int(predicted_index), int(limit)]).df()
