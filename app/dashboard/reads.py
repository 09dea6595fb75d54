"""The dataset pages' reads of the DuckDB store: cached, and turned into short notices when there is nothing
to read (no database or no runs yet, a run not analysed, a pipeline writing right now).

Every read goes through `read("reader", ...)`, which calls `pruning_core.storage.<reader>` (or an analysis of the
stored rows, COMPUTED) once per database version: the cache key holds the file's modification time (and its
write-ahead log's), so a new run shows up on the next rerun; the short ttl bounds memory and staleness anyway.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import pandas as pd
import streamlit as st

from pruning_core import paths
from pruning_core import storage as store
from pruning_core.analysis.faithfulness import faithfulness_by_class, faithfulness_summary
from pruning_core.analysis.keywords import custom_keywords

from .tables import run_label

TTL_SECONDS = 60
# Read by name like the store's readers (same arguments, db=...), computed from its rows by the analyses.
COMPUTED = {reader.__name__: reader for reader in (custom_keywords, faithfulness_summary, faithfulness_by_class)}
COMPUTED_TTL_SECONDS = 600   # what the services compute from the reads (intervals, verdicts): dearer, kept longer
DEMO_COMMAND = "python -m pipelines.demo"
NO_RUNS = (f"No runs in the database yet. Build the demo on Home, or run `{DEMO_COMMAND}` (a few minutes: it "
           "trains, traces, analyses and benchmarks small models), or trace your own model with "
           "`python -m pipelines.trace --model artifacts/models/<run>/<stage>`.")


class Unavailable(Exception):
    """Nothing to show: the message says why and what to run. `problem` marks a file that needs the user's hand
    (damaged, foreign, newer) rather than data not built yet."""

    def __init__(self, message: str, problem: bool = False):
        super().__init__(message)
        self.problem = problem


def db_version() -> tuple[str, float]:
    """The database path and the newest modification time of its files (0 when there is none)."""
    path = paths.db_path()
    files = (path, path.with_name(path.name + ".wal"))
    return str(path), max((f.stat().st_mtime for f in files if f.exists()), default=0.0)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=512)
def _cached(reader: str, db: str, version: float, args: tuple, kwargs: tuple) -> Any:
    return (COMPUTED.get(reader) or getattr(store, reader))(*args, db=db, **dict(kwargs))


def fetch(reader: str, *args, **kwargs) -> Any:
    """store.<reader>(*args, **kwargs), cached per database version; Unavailable when it cannot answer."""
    db, version = db_version()
    with store_notices():
        return _cached(reader, db, version, args, tuple(sorted(kwargs.items())))


@contextmanager
def store_notices() -> Iterator[None]:
    """The store's errors (busy, no such run or analysis, an unreadable file) as Unavailable, with their message."""
    try:
        yield
    except store.StoreBusy as busy:
        raise Unavailable(f"⏳ {busy}") from None
    except store.RunNotFound as missing:
        raise Unavailable(str(missing)) from None
    except store.StoreUnreadable as unreadable:
        raise Unavailable(str(unreadable), problem=True) from None


def read(reader: str, *args, **kwargs) -> Any:
    """fetch(), but a page that cannot go on shows the notice (with a retry button when busy) and stops."""
    try:
        return fetch(reader, *args, **kwargs)
    except Unavailable as reason:
        stop_with(str(reason), reason.problem)


def stop_with(message: str, problem: bool = False) -> None:
    (st.error if problem else st.info)(message)
    if message.startswith("⏳"):
        st.button("Retry", key="do_retry")
    st.stop()


def runs(analysed: bool = False) -> pd.DataFrame:
    """The stored runs (only the analysed ones if asked); stops the page with what to run when there are none."""
    found = read("runs")
    if found.empty:
        stop_with(NO_RUNS)
    if analysed:
        done = found[found["analysed"]]
        if done.empty:
            first = found["run_id"].iloc[0]
            stop_with(f"None of the {len(found)} stored runs has been analysed yet: run "
                      f"`python -m pipelines.analyze --run {first}` (or `{DEMO_COMMAND}`, which analyses its runs).")
        return done
    return found


def run_picker(found: pd.DataFrame, label: str = "Run", key: str = "run_id", where=st.sidebar,
               index: int = 0) -> dict:
    """A run menu (newest first); returns the chosen run's row as a dict."""
    rows = {row["run_id"]: row for row in found.to_dict("records")}
    if st.session_state.get(key) not in rows:
        st.session_state.pop(key, None)
    run_id = where.selectbox(label, list(rows), index=min(index, len(rows) - 1), key=key,
                             format_func=lambda r: run_label(rows[r]))
    return rows[run_id]
