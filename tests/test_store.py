"""The DuckDB store: migrations, whole-run transactions, readers racing a writer in another process, and its rooms."""
from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from pruning_core import paths
from pruning_core import storage as store
from pruning_core.storage import ROOMS, RunNotFound, StoreBusy, schema, traces


def write_run(db, run_id: str = "r1", tokens: int = 3) -> None:
    row = {"run_id": run_id, "dataset": "imdb", "split": "test", "stage": "baseline", "profile": "quick",
           "method": "none", "label_names": ["negative", "positive"], "num_layers": 2, "n_examples": 1,
           "accuracy": 1.0, "macro_f1": 1.0, "mean_kept": [3.0, 2.0], "keep_fraction": [1.0, 2 / 3],
           "config": "{}", "method_config": "{}"}
    examples = pd.DataFrame({"run_id": [run_id], "example_id": [0], "text": ["a b"], "label": [1],
                             "prediction": [1], "n_tokens": [tokens], "kept_counts": [[3, 2]]})
    token_rows = pd.DataFrame({"run_id": run_id, "example_id": 0, "position": range(tokens),
                               "token": ["[CLS]", "a", "b"][:tokens], "drop_layer": [2, 1, 2][:tokens]})
    store.write_trace_run(row, pd.DataFrame({"run_id": [run_id], "class_index": [1], "label": ["positive"]}),
                          pd.DataFrame({"run_id": [run_id], "true_index": [1], "predicted_index": [1],
                                        "count": [1]}), examples, token_rows, db)


def holder(db, seconds: float, then: str = "commit") -> subprocess.Popen:
    """Another process that opens the file read-write, writes a run inside a transaction, says 'holding',
    then waits and commits (or is killed before it can)."""
    script = textwrap.dedent(f"""
        import sys, time
        from pruning_core.storage import connection
        with connection.writer({str(db)!r}) as con:
            con.execute("INSERT INTO runs (run_id, dataset) VALUES ('from-holder', 'imdb')")
            print("holding", flush=True)
            time.sleep({seconds})
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                               cwd=str(paths.REPO_ROOT), env=_env())
    assert process.stdout.readline().strip() == "holding"
    return process


def _env():
    import os
    return {**os.environ, "PYTHONPATH": f"{paths.REPO_ROOT}:{paths.REPO_ROOT / 'tests'}"}


def test_migrations_run_once_and_readers_see_the_run(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_run(db, "r1")
    write_run(db, "r2")
    assert store.schema_version(db) == len(store.MIGRATIONS)
    assert sorted(store.runs(db)["run_id"]) == ["r1", "r2"]
    survival = store.layer_survival("r1", db=db)
    assert survival["kept"].tolist() == [3, 2] and survival["survival"].tolist() == pytest.approx([1.0, 2 / 3])


def test_rewriting_a_run_replaces_it_whole(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_run(db, "r1", tokens=3)
    write_run(db, "r1", tokens=2)
    assert len(store.runs(db)) == 1 and len(store.example_tokens("r1", 0, db)) == 2


def test_a_failure_mid_write_leaves_no_half_written_run(tmp_path, monkeypatch):
    db = tmp_path / "lens.duckdb"
    write_run(db, "r1")
    real_insert = traces.insert

    def failing_insert(con, table, rows):
        if table == "tokens":
            raise KeyboardInterrupt("interrupted while writing tokens")
        real_insert(con, table, rows)

    monkeypatch.setattr(traces, "insert", failing_insert)
    with pytest.raises(KeyboardInterrupt):
        write_run(db, "r2")
    monkeypatch.undo()
    assert store.runs(db)["run_id"].tolist() == ["r1"]
    with pytest.raises(RunNotFound):
        store.run_info("r2", db)


def test_a_killed_writer_leaves_nothing_behind(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_run(db, "r1")
    process = holder(db, seconds=60)
    process.kill()
    process.wait()
    assert store.runs(db)["run_id"].tolist() == ["r1"]


def test_a_read_during_a_write_says_busy_then_succeeds(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_run(db, "r1")
    process = holder(db, seconds=3)
    try:
        with pytest.raises(StoreBusy, match="being updated; retry in a moment"):
            store.runs(db)
        with pytest.raises(StoreBusy):
            store.layer_survival("r1", db=db)
    finally:
        assert process.wait(timeout=30) == 0
    assert sorted(store.runs(db)["run_id"]) == ["from-holder", "r1"]


def test_a_writer_waits_for_readers_to_let_go(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_run(db, "r1")
    script = textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(db)!r}, read_only=True)
        print("reading", flush=True)
        time.sleep(1.5)
        con.close()
    """)
    reader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=_env())
    assert reader.stdout.readline().strip() == "reading"
    started = time.monotonic()
    write_run(db, "r2")
    assert time.monotonic() - started > 0.3, "the writer had to wait for the reader"
    reader.wait(timeout=30)
    assert sorted(store.runs(db)["run_id"]) == ["r1", "r2"]


def test_missing_database_and_unknown_runs_get_clear_messages(tmp_path):
    db = tmp_path / "none.duckdb"
    assert store.runs(db).empty and store.benchmarks(db=db).empty
    with pytest.raises(RunNotFound, match="pipelines.demo"):
        store.layer_survival("r1", db=db)
    no_runs, no_benchmarks = store.runs(db), store.benchmarks(db=db)
    write_run(db, "r1")
    assert list(no_runs.columns) == list(store.runs(db).columns)   # callers filter on any column, e.g. analysed
    assert list(no_benchmarks.columns) == list(store.benchmarks(db=db).columns)
    with pytest.raises(RunNotFound, match="No run 'nope'"):
        store.run_metrics("nope", db)
    with pytest.raises(RunNotFound, match="pipelines.analyze --run r1"):
        store.retention("r1", "pos", db=db)
    with pytest.raises(ValueError, match="facet"):
        store.retention("r1", "colour", db=db)


def test_benchmark_predictions_and_labels_round_trip_and_old_databases_migrate(tmp_path):
    import duckdb

    db = tmp_path / "lens.duckdb"
    with duckdb.connect(str(db)) as con:   # a database from before the predictions column: version 1
        con.execute(store.MIGRATIONS[0])
        con.execute("CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (1)")
        con.execute("INSERT INTO benchmark_sweeps VALUES ('old', 'ag_news', 'quick', '{}', now())")
        con.execute("INSERT INTO benchmarks (bench_id, dataset, setting, accuracy) VALUES ('old', 'ag_news', "
                    "'unpruned', 0.9)")
    rows = pd.DataFrame({"setting": ["unpruned", "ltp-x1.0"], "method": ["none", "ltp"], "accuracy": [1.0, 2 / 3],
                         "flops": [2.0, 1.0], "predictions": [[0, 1, 1], [0, 1, 0]]})
    store.write_benchmark({"bench_id": "new", "dataset": "imdb", "profile": "quick", "labels": [0, 1, 1],
                           "config": '{"trained_settings": {"LTP": "ltp-x1.0"}}'}, rows, db)
    store.write_benchmark({"bench_id": "vision", "dataset": "cifar10", "profile": "quick", "config": "{}"},
                          rows.drop(columns="predictions"), db)
    assert store.schema_version(db) == len(store.MIGRATIONS)
    text = store.benchmarks("imdb", db=db).set_index("setting")
    assert list(text.loc["ltp-x1.0", "predictions"]) == [0, 1, 0] and list(text.loc["unpruned", "labels"]) == [0, 1, 1]
    assert "trained_settings" in text.loc["unpruned", "config"]
    for dataset in ("ag_news", "cifar10"):   # written before the migration, or without predictions and labels
        frame = store.benchmarks(dataset, db=db)
        assert len(frame) >= 1 and frame["predictions"].isna().all() and frame["labels"].isna().all()


# --- Files that cannot be used, and schemas from other versions -------------------------------------------

def test_an_older_database_is_upgraded_on_the_next_read_and_keeps_its_runs(tmp_path, monkeypatch):
    db = tmp_path / "lens.duckdb"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])     # what an older version wrote
    monkeypatch.setattr(schema, "ANALYSIS_TABLES", tuple(t for t in schema.ANALYSIS_TABLES if t != "representations"))
    write_run(db, "old")
    monkeypatch.undo()
    assert store.schema_version(db) == len(store.MIGRATIONS)           # the read upgraded it
    examples = store.examples("old", db=db)
    assert examples["text"].tolist() == ["a b"] and examples["thresholds"].isna().all()   # no thresholds stored then


def test_a_newer_or_foreign_database_is_refused_with_what_to_do_and_never_written(tmp_path):
    import duckdb
    newer = tmp_path / "newer.duckdb"
    write_run(newer)
    with duckdb.connect(str(newer)) as con:
        con.execute("INSERT INTO schema_version VALUES (?)", [len(store.MIGRATIONS) + 1])
    with pytest.raises(store.StoreUnreadable, match="newer version.*git pull"):
        store.runs(newer)
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE runs (anything VARCHAR)")
    before = foreign.read_bytes()
    for attempt in (lambda: store.runs(foreign), lambda: write_run(foreign)):
        with pytest.raises(store.StoreUnreadable, match="another program"):
            attempt()
    assert foreign.read_bytes() == before


@pytest.mark.parametrize("content, says", [(b"", "empty"), (b"\x00garbage" * 500, "damaged")])
def test_an_empty_or_damaged_file_is_refused_by_readers_and_writers(tmp_path, content, says):
    db = tmp_path / "lens.duckdb"
    db.write_bytes(content)
    for attempt in (lambda: store.runs(db), lambda: write_run(db)):
        with pytest.raises(store.StoreUnreadable, match=f"{says}.*pipelines.demo"):
            attempt()
    assert db.read_bytes() == content


def test_a_missing_table_is_an_error_not_a_python_variable(tmp_path):
    """DuckDB's replacement scans would read the store's own function `examples` for a missing `examples` table."""
    import duckdb
    db = tmp_path / "lens.duckdb"
    write_run(db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE examples")
    with pytest.raises(store.StoreUnreadable, match="incomplete.*examples"):
        store.examples("r1", db=db)


def test_readers_of_one_run_say_when_it_does_not_exist(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_run(db)
    for read in (lambda: store.examples("nope", db=db), lambda: store.example_tokens("nope", 0, db=db)):
        with pytest.raises(RunNotFound, match="No run 'nope'"):
            read()


# --- The rooms ------------------------------------------------------------------------------------------------

def test_the_package_holds_every_reader_and_writer_of_its_rooms():
    """No hand-kept index: each room names its readers and writers (the functions taking db=None) in __all__, and
    the package holds them all."""
    for room in ROOMS:
        api = {name for name, value in vars(room).items() if inspect.isfunction(value)
               and value.__module__ == room.__name__
               and getattr(inspect.signature(value).parameters.get("db"), "default", False) is None}
        assert api <= set(room.__all__), f"{room.__name__}: add {sorted(api - set(room.__all__))} to __all__"
        assert all(getattr(store, name) is getattr(room, name) for name in room.__all__)
    assert len(store.__all__) == len(set(store.__all__)), "two rooms export the same name"
    assert {"runs", "write_trace_run", "retention", "benchmarks", "faithfulness_rows"} <= set(store.__all__)
