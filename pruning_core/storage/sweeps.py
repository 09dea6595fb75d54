"""Benchmark sweeps (pipelines.benchmark, pipelines.vision): a sweep's settings side by side, each with its
accuracy, tokens kept, FLOPs, timings and per-example predictions."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .connection import db_file, insert, now, reader, writer

__all__ = ["BENCHMARK_COLUMNS", "benchmarks", "write_benchmark"]

# benchmarks()'s columns: the setting's row (b), then its sweep's (c).
BENCHMARK_COLUMNS = ("b.bench_id", "b.dataset", "c.profile", "b.setting", "b.method", "b.method_config",
                     "b.thresholds", "b.model_path", "b.n_examples", "b.accuracy", "b.macro_f1", "b.mean_kept",
                     "b.keep_fraction", "b.flops", "b.throughput_b32", "b.latency_b1_ms", "b.speedup_b32",
                     "b.speedup_b1", "b.predictions", "b.example_ids", "c.labels", "c.lengths", "c.config",
                     "c.created_at")


def write_benchmark(sweep: dict, rows: pd.DataFrame, db: str | Path | None = None) -> None:
    """Store one benchmark sweep (its settings side by side) in one transaction. Columns are matched by
    name, so a sweep without labels or rows without predictions (older sweeps) leave those NULL."""
    sweep = dict(sweep, created_at=sweep.get("created_at") or now())
    with writer(db) as con:
        con.execute("DELETE FROM benchmarks WHERE bench_id = ?", [sweep["bench_id"]])
        con.execute("DELETE FROM benchmark_sweeps WHERE bench_id = ?", [sweep["bench_id"]])
        insert(con, "benchmark_sweeps", pd.DataFrame([sweep]))
        insert(con, "benchmarks", rows.assign(bench_id=sweep["bench_id"], dataset=sweep["dataset"]))


def benchmarks(dataset: str | None = None, bench_id: str | None = None, profile: str | None = None,
               db: str | Path | None = None) -> pd.DataFrame:
    """Benchmark rows of one sweep (bench_id), or of the latest sweep of each dataset (of a profile), in
    BENCHMARK_COLUMNS: setting, method, accuracy, macro_f1, mean_kept (list), flops, throughput_b32, latency_b1_ms,
    speed-ups, predictions and example_ids (lists, NA when not stored), and the sweep's labels and lengths (lists)
    and config (JSON); an empty frame with the same columns when there is no database yet."""
    if not db_file(db).is_file():
        return pd.DataFrame(columns=[column.split(".")[1] for column in BENCHMARK_COLUMNS])
    with reader(db) as con:
        return con.execute(f"""
            WITH chosen AS (
                SELECT bench_id, profile, config, labels, lengths, created_at FROM benchmark_sweeps
                WHERE (? IS NULL OR dataset = ?) AND (? IS NULL OR bench_id = ?) AND (? IS NULL OR profile = ?)
                QUALIFY ? IS NOT NULL OR row_number() OVER (PARTITION BY dataset ORDER BY created_at DESC) = 1)
            SELECT {", ".join(BENCHMARK_COLUMNS)}
            FROM benchmarks b JOIN chosen c USING (bench_id)
            ORDER BY b.dataset, b.flops DESC""",
                           [dataset, dataset, bench_id, bench_id, profile, profile, bench_id]).df()
