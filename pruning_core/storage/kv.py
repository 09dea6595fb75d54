"""The KV-cache benchmark (pipelines.kv): a sweep, then each finished part of it in its own transaction, so an
interrupted run keeps what it finished; readers for the results block and the dashboard.

    start_kv_sweep      the sweep's row (its config says which parts finished) before any part runs
    write_kv_part       one finished part's rows (results, timings, tokens, retention) and the sweep's new config
    latest_kv_sweep     the newest sweep's id (of a profile)
    kv_sweep            a sweep's row: profile, model, config (JSON), each task's example ids, labels and depths
    kv_results / kv_timings / kv_retention / kv_tokens   a sweep's rows (default: the latest sweep)
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .connection import db_file, insert, now, reader, writer
from .schema import KV_TABLES

__all__ = ["KV_COLUMNS", "kv_results", "kv_retention", "kv_sweep", "kv_timings", "kv_tokens", "latest_kv_sweep",
           "start_kv_sweep", "write_kv_part"]

# Each table's columns as its readers return them.
KV_COLUMNS = {
    "kv_sweeps": ("sweep_id", "profile", "model", "config", "created_at", "imdb_ids", "imdb_labels", "needle_ids",
                  "needle_depths", "needle_haystacks"),
    "kv_results": ("sweep_id", "task", "press", "press_config", "budget", "n", "accuracy", "agreement", "kl_mean",
                   "example_ids", "correct", "agrees", "kl", "depths"),
    "kv_timings": ("sweep_id", "context_tokens", "prompt_tokens", "press", "press_config", "budget", "decode_tokens",
                   "decode_ms", "cache_mb", "full_decode_ms"),
    "kv_tokens": ("sweep_id", "example_id", "press", "budget", "position", "token", "char_start", "char_end",
                  "kept_share", "layers_kept"),
    "kv_retention": ("sweep_id", "press", "budget", "facet", "category", "total", "kept"),
}
PART_TABLES = KV_TABLES[1:]   # what write_kv_part writes


def start_kv_sweep(sweep: dict, db: str | Path | None = None) -> None:
    """Store a sweep's row (kv_sweeps' columns; `config` a dict), replacing any sweep of the same id and its rows."""
    row = dict(sweep, config=json.dumps(sweep.get("config") or {}), created_at=sweep.get("created_at") or now())
    with writer(db) as con:
        for table in KV_TABLES:
            con.execute(f"DELETE FROM {table} WHERE sweep_id = ?", [row["sweep_id"]])
        insert(con, "kv_sweeps", pd.DataFrame([row]))


def write_kv_part(sweep_id: str, config: dict, tables: dict[str, pd.DataFrame], db: str | Path | None = None) -> None:
    """In one transaction: add one finished part's rows ({table: rows}, tables among kv_results, kv_timings, kv_tokens,
    kv_retention) to the sweep and store its config (which says what finished)."""
    unknown = set(tables) - set(PART_TABLES)
    if unknown:
        raise ValueError(f"tables must be among {', '.join(PART_TABLES)}, got {sorted(unknown)}.")
    with writer(db) as con:
        if not con.execute("SELECT count(*) FROM kv_sweeps WHERE sweep_id = ?", [sweep_id]).fetchall()[0][0]:
            raise ValueError(f"sweep_id {sweep_id!r} has no kv_sweeps row: start_kv_sweep first.")
        for table, rows in tables.items():
            insert(con, table, rows.assign(sweep_id=sweep_id))
        con.execute("UPDATE kv_sweeps SET config = ? WHERE sweep_id = ?", [json.dumps(config), sweep_id])


def latest_kv_sweep(profile: str | None = None, db: str | Path | None = None) -> str | None:
    """The newest sweep's id (of `profile` when given), None when there is none or no database yet."""
    if not db_file(db).is_file():
        return None
    with reader(db) as con:
        row = con.execute("SELECT sweep_id FROM kv_sweeps WHERE ? IS NULL OR profile = ? "
                          "ORDER BY created_at DESC, sweep_id DESC LIMIT 1", [profile, profile]).fetchall()
    return row[0][0] if row else None


def kv_sweep(sweep_id: str | None = None, db: str | Path | None = None) -> dict | None:
    """A sweep's row as a dict (config parsed from JSON; default: the latest sweep), None when there is none."""
    sweep_id = sweep_id or latest_kv_sweep(db=db)
    if sweep_id is None:
        return None
    frame = _rows("kv_sweeps", sweep_id, db)
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    return dict(row, config=json.loads(row["config"]) if row["config"] else {})


def kv_results(sweep_id: str | None = None, db: str | Path | None = None) -> pd.DataFrame:
    """Per task, press and budget of a sweep (default: the latest): accuracy (IMDb) or exact match (needle), first-token
    agreement and mean KL with the full cache, and per example its id, whether it was right, agreed, its KL and (needle)
    depth, in one order per row. The full cache is press "full" at budget 1."""
    return _rows("kv_results", sweep_id, db, "task, press = 'full' DESC, press, budget")


def kv_timings(sweep_id: str | None = None, db: str | Path | None = None) -> pd.DataFrame:
    """Per context length, press and budget of a sweep (default: the latest): median decode ms per token, the full
    cache's at the same context, and the cache's MB at the end of decoding."""
    return _rows("kv_timings", sweep_id, db, "context_tokens, press = 'full' DESC, press, budget")


def kv_retention(sweep_id: str | None = None, db: str | Path | None = None) -> pd.DataFrame:
    """Per press, budget, facet (pos, entity, stopword, punctuation, frequency) and category of a sweep (default: the
    latest): context tokens (total) and their kept share summed over them (kept; kept / total is the share)."""
    return _rows("kv_retention", sweep_id, db, "press, budget, facet, total DESC, category")


def kv_tokens(sweep_id: str | None = None, example_id: int | None = None, db: str | Path | None = None
              ) -> pd.DataFrame:
    """The sampled prompts' context tokens per press (default: the latest sweep; one example when given): position,
    token, span in the review (0, 0 outside it), the share of (layer, key-value head) caches holding it and the
    layers keeping it."""
    frame = _rows("kv_tokens", sweep_id, db, "example_id, press, budget, position")
    return frame if example_id is None else frame[frame["example_id"] == example_id].reset_index(drop=True)


def _rows(table: str, sweep_id: str | None, db: str | Path | None, order: str = "sweep_id") -> pd.DataFrame:
    """One sweep's rows of a table (default: the latest sweep); an empty frame with its columns when there are none."""
    columns = list(KV_COLUMNS[table])
    sweep_id = sweep_id or latest_kv_sweep(db=db)
    if sweep_id is None:
        return pd.DataFrame(columns=columns)
    with reader(db) as con:
        return con.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE sweep_id = ? ORDER BY {order}",
                           [sweep_id]).df()
