"""Opening the database: locking, checks, migrations and transactions.

DuckDB lets one process open a file read-write OR many open it read-only, so writers compute everything first,
then hold the read-write connection for one short transaction per run (an interruption leaves nothing
half-written); readers open read-only per call and turn a lock conflict into `StoreBusy`. A database written
before the latest migration is upgraded the next time it is opened; one that is damaged, empty, another
program's or from a newer version is refused (`StoreUnreadable`) and never written to. Values always travel as
parameters or registered Arrow/pandas tables, never inside SQL text.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd
import pyarrow as pa

from .. import paths
from . import schema

__all__ = ["BUSY_MESSAGE", "RunNotFound", "StoreBusy", "StoreUnreadable", "schema_version"]

BUSY_MESSAGE = "The database is being updated; retry in a moment."
# Replacement scans off: DuckDB would otherwise read a missing table's name as a same-named Python variable.
CONNECTION_CONFIG = {"python_enable_replacements": False}
REBUILD = "move it away (or delete it) and rebuild it with `python -m pipelines.demo`"


class StoreBusy(RuntimeError):
    """A pipeline holds the database; the page should say so and let the user retry."""

    def __init__(self, message: str = BUSY_MESSAGE):
        super().__init__(message)


class RunNotFound(LookupError):
    """No database, no such run (or the run has not been analysed yet); the message says what to run."""


class StoreUnreadable(RuntimeError):
    """The database file cannot be used: damaged, empty, another program's, or written by a newer version. The
    message says what is wrong and what to do; nothing is written to such a file."""


def db_file(db: str | Path | None) -> Path:
    """The database's path (None: `paths.db_path()`, the default); a ValueError when it names a folder."""
    path = paths.db_path(db)
    if path.is_dir():
        raise ValueError(f"db must be a DuckDB file, got the folder {str(path)!r} (the default file is "
                         f"<artifacts>/lens.duckdb).")
    return path


@contextmanager
def reader(db: str | Path | None, wait_seconds: float = 1.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection to a checked database (one from an older schema is upgraded first);
    StoreBusy when a writer holds the file, StoreUnreadable when it cannot be used."""
    path = db_file(db)
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
    if version < len(schema.MIGRATIONS):   # written before the latest migration: upgrade it, then read
        connection.close()
        with writer(path, wait_seconds=wait_seconds):
            pass
        connection = _connect(path, read_only=True, wait_seconds=wait_seconds)
    try:
        yield connection
    except duckdb.CatalogException as error:
        raise StoreUnreadable(f"The database at {path} is incomplete ({_first_line(error)}): {REBUILD}.") from None
    finally:
        connection.close()


@contextmanager
def writer(db: str | Path | None, wait_seconds: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """The read-write connection, checked and migrated, inside one transaction that commits only if the block
    succeeds. A damaged, foreign or newer database is refused (StoreUnreadable), never overwritten."""
    path = db_file(db)
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


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "conflicting" in text or "different configuration" in text


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
    if version > len(schema.MIGRATIONS):
        raise StoreUnreadable(f"The database at {path} was written by a newer version of Token Pruning Lens "
                              f"(schema {version}; this one knows {len(schema.MIGRATIONS)}): update this checkout "
                              "(`git pull`) or use another database.")
    return version


def _migrate(connection: duckdb.DuckDBPyConnection, current: int) -> None:
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    for version, statements in enumerate(schema.MIGRATIONS[current:], start=current + 1):
        connection.execute("BEGIN TRANSACTION")
        connection.execute(statements)
        connection.execute("INSERT INTO schema_version VALUES (?)", [version])
        connection.execute("COMMIT")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def schema_version(db: str | Path | None = None) -> int:
    """The number of migrations the database has had (a read upgrades an older one first)."""
    with reader(db) as con:
        return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame | pa.Table) -> None:
    """Insert a DataFrame or Arrow table by column name (table names come from this package only)."""
    if len(rows) == 0:
        return
    con.register("incoming", rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def delete_run(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], run_id: str) -> None:
    for table in tables:
        con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])


def now() -> datetime:
    """The time a row is written, in UTC without a zone (as DuckDB's TIMESTAMP holds it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
