"""A traced run gathered chunk by chunk and stored in one transaction, with its metrics (text and images).

A large trace can also be split into shards traced apart (`pipelines.trace --shard I/N`): each shard
saves its rows as parquet files in a folder of its own, and `merge_shards` stores them all as one run,
its metrics computed over the merged rows, in one transaction.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pruning_core import storage as store
from pruning_core.metrics import classification_metrics

SHARD_FILE = "shard.json"


class ShardError(ValueError):
    """Shards that cannot make a run (missing, stale, from different traces) or cannot be cut: the user can fix it."""


class TracedRun:
    """A run's traces gathered chunk by chunk, then stored in one transaction (text and images alike).

    The model's time (inside `timing()`) and the time spent turning traces into rows and writing them
    are kept apart, so the trace's overhead stays visible."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.model_seconds = self.convert_seconds = 0.0
        self.example_parts: list[pa.Table] = []
        self.token_parts: list[pa.Table] = []

    @contextmanager
    def timing(self) -> Iterator[None]:
        began = time.perf_counter()
        yield
        self.model_seconds += time.perf_counter() - began

    def add(self, traces: list, first_example_id: int) -> None:
        began = time.perf_counter()
        examples, tokens = store.trace_tables(traces, first_example_id=first_example_id)
        self.example_parts.append(examples)
        self.token_parts.append(tokens)
        self.convert_seconds += time.perf_counter() - began

    def write(self, row: dict, label_names: list[str], db: Path) -> dict:
        """Complete the run's row with its metrics (computed from the gathered rows), store everything;
        returns the row."""
        began = time.perf_counter()
        run_id = self.run_id
        examples_table = pa.concat_tables(self.example_parts)
        n = examples_table.num_rows
        labels, predictions = (examples_table.column(name).to_pylist() for name in ("label", "prediction"))
        metrics = classification_metrics(labels, predictions, label_names)
        counts = pd.DataFrame(examples_table.column("kept_counts").to_pylist())
        n_tokens = examples_table.column("n_tokens").to_numpy()
        row = {**row, "n_examples": n, "accuracy": metrics.accuracy, "macro_precision": metrics.macro_precision,
               "macro_recall": metrics.macro_recall, "macro_f1": metrics.macro_f1,
               "mean_kept": counts.mean().tolist(), "keep_fraction": (counts.sum() / max(n_tokens.sum(), 1)).tolist(),
               "seconds_model": self.model_seconds}
        per_class = pd.DataFrame(metrics.per_class).reset_index(names="class_index")
        confusion = pd.DataFrame([(t, p, c) for t, row_counts in enumerate(metrics.confusion)
                                  for p, c in enumerate(row_counts)],
                                 columns=["true_index", "predicted_index", "count"])
        examples_table = examples_table.append_column("run_id", pa.array([run_id] * n))
        tokens_table = pa.concat_tables(self.token_parts)
        tokens_table = tokens_table.append_column("run_id", pa.array([run_id] * tokens_table.num_rows))
        store.write_trace_run(row, per_class.assign(run_id=run_id), confusion.assign(run_id=run_id),
                              examples_table, tokens_table, db)
        write_seconds = self.convert_seconds + time.perf_counter() - began
        store.set_write_seconds(run_id, write_seconds, db)
        row["seconds_write"] = write_seconds
        print(f"{run_id}: {n} examples, accuracy {metrics.accuracy:.4f}, macro-F1 {metrics.macro_f1:.4f}; "
              f"model {self.model_seconds:.1f} s, writing the trace {write_seconds:.1f} s "
              f"(+{100 * write_seconds / max(self.model_seconds, 1e-9):.1f}%) -> {db}", flush=True)
        return row

    def save_shard(self, folder: Path, row: dict, label_names: list[str], index: int, count: int,
                   examples_total: int) -> Path:
        """Save the gathered rows as shard `index` of `count` under folder (the run's shard folder); a shard
        folder appears only when complete, replacing an earlier one. Returns it."""
        target = folder / shard_name(index, count)
        partial = folder / f".{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        examples = pa.concat_tables(self.example_parts)
        pq.write_table(examples, partial / "examples.parquet")
        pq.write_table(pa.concat_tables(self.token_parts), partial / "tokens.parquet")
        (partial / SHARD_FILE).write_text(json.dumps(
            {"run_id": self.run_id, "row": row, "label_names": label_names, "index": index, "count": count,
             "examples_total": examples_total, "model_seconds": self.model_seconds,
             "convert_seconds": self.convert_seconds}, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
        print(f"{self.run_id}: shard {index}/{count} ({examples.num_rows} examples) -> {target}", flush=True)
        return target


def shard_name(index: int, count: int) -> str:
    return f"shard-{index}-of-{count}"


def merge_shards(folder: Path, db: Path) -> dict:
    """Store the complete set of shards in folder as one run, in one transaction, then remove them.
    Returns the run's row; a ShardError says which shards are missing or do not belong together."""
    paths = [path for path in folder.glob("shard-*-of-*") if (path / SHARD_FILE).is_file()]
    shards = sorted(((json.loads((path / SHARD_FILE).read_text()), path) for path in paths),
                    key=lambda shard: shard[0]["index"])
    if not shards:
        raise ShardError(f"No trace shards in {folder}: trace them first with --shard I/N.")
    first = shards[0][0]
    counts = {saved["count"] for saved, _ in shards}
    if len(counts) > 1:
        raise ShardError(f"{folder} holds shards of splits into {' and '.join(map(str, sorted(counts)))}: "
                         "remove the stale ones and trace again.")
    missing = sorted(set(range(first["count"])) - {saved["index"] for saved, _ in shards})
    if missing:
        raise ShardError(f"Shards {', '.join(map(str, missing))} of {first['count']} are missing in {folder}.")
    if any((saved["row"], saved["examples_total"]) != (first["row"], first["examples_total"]) for saved, _ in shards):
        raise ShardError(f"The shards in {folder} come from different traces (model, data or settings): "
                         "trace them again.")
    traced = TracedRun(first["run_id"])
    for saved, path in shards:
        traced.example_parts.append(pq.read_table(path / "examples.parquet"))
        traced.token_parts.append(pq.read_table(path / "tokens.parquet"))
        traced.model_seconds += saved["model_seconds"]
        traced.convert_seconds += saved["convert_seconds"]
    if sum(part.num_rows for part in traced.example_parts) != first["examples_total"]:
        raise ShardError(f"The shards in {folder} do not add up to the {first['examples_total']} examples traced.")
    row = traced.write(first["row"], first["label_names"], db)
    shutil.rmtree(folder)
    return row
