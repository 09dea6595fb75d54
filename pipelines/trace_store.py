"""A traced run gathered chunk by chunk and stored in one transaction, with its metrics (text and images)."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa

from pruning_core import store
from pruning_core.metrics import classification_metrics


class TracedRun:
    """A run's traces gathered chunk by chunk, then stored in one transaction (text and images alike).

    The model's time (inside `timing()`) and the time spent turning traces into rows and writing them
    are kept apart, so the trace's overhead stays visible."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.model_seconds = self.convert_seconds = 0.0
        self.example_parts, self.token_parts, self.predictions, self.kept_counts = [], [], [], []

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
        self.predictions += [t.prediction for t in traces]
        self.kept_counts += [t.keep_counts for t in traces]
        self.convert_seconds += time.perf_counter() - began

    def write(self, row: dict, labels: list[int], label_names: list[str], db: Path) -> dict:
        """Complete the run's row with its metrics, store everything; returns the row."""
        began = time.perf_counter()
        run_id, n = self.run_id, len(self.predictions)
        metrics = classification_metrics(labels, self.predictions, label_names)
        counts = pd.DataFrame(self.kept_counts)
        examples_table = pa.concat_tables(self.example_parts)
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
