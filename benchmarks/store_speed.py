"""DuckDB store at full IMDb scale: time to write a trace, and time of the dashboard's heaviest queries.

    python -m benchmarks.store_speed [--examples 25000] [--tokens 230] [--layers 6]

Builds synthetic traces shaped like MiniLM-L6 on the IMDb test set (25,000 reviews of about 230 tokens,
about half pruned along the way), writes them with the trace pipeline's own code into a temporary
database, then times the readers a page calls (median of 5, each opening its own read-only connection).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pruning_core import storage as store
from pruning_core.trace import ExampleTrace


def synthetic_traces(count: int, tokens: int, layers: int, seed: int = 0) -> list[ExampleTrace]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)], dtype=object)
    traces = []
    for _ in range(count):
        n = int(rng.integers(tokens // 2, tokens * 3 // 2))
        drop = rng.integers(0, layers + 1, n)
        drop[0] = layers
        kept = np.arange(layers)[:, None] < drop[None, :]
        scores = rng.random((layers, n)).astype(np.float32)
        scores[~np.vstack([np.ones((1, n), bool), kept[:-1]])] = np.nan
        starts = np.arange(n) * 5
        traces.append(ExampleTrace(tokens=vocabulary[rng.integers(0, 5000, n)].tolist(), scores=scores, kept=kept,
                                   thresholds=[0.01] * layers, probabilities=[0.3, 0.7], label_names=["neg", "pos"],
                                   text="x" * (5 * n), offsets=list(zip(starts.tolist(), (starts + 4).tolist())),
                                   word_ids=list(range(n)), label=int(rng.integers(0, 2))))
    return traces


def timed(function, repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=25_000)
    parser.add_argument("--tokens", type=int, default=230)
    parser.add_argument("--layers", type=int, default=6)
    args = parser.parse_args(argv)
    traces = synthetic_traces(args.examples, args.tokens, args.layers)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "lens.duckdb"
        began = time.perf_counter()
        parts = [store.trace_tables(traces[i:i + 1024], first_example_id=i) for i in range(0, len(traces), 1024)]
        converted = time.perf_counter()
        examples = pa.concat_tables([p[0] for p in parts])
        tokens = pa.concat_tables([p[1] for p in parts])
        examples = examples.append_column("run_id", pa.array(["big"] * examples.num_rows))
        tokens = tokens.append_column("run_id", pa.array(["big"] * tokens.num_rows))
        run = {"run_id": "big", "dataset": "imdb", "split": "test", "label_names": ["neg", "pos"],
               "num_layers": args.layers, "n_examples": len(traces), "config": "{}", "method_config": "{}"}
        store.write_trace_run(run, pd.DataFrame(), pd.DataFrame(), examples, tokens, db)
        written = time.perf_counter()
        print(f"{len(traces):,} examples, {tokens.num_rows:,} token rows: converting {converted - began:.1f} s, "
              f"writing {written - converted:.1f} s, file {db.stat().st_size / 2**20:.0f} MiB")
        queries = {
            "layer_survival(all)": lambda: store.layer_survival("big", db=db),
            "layer_survival(true class)": lambda: store.layer_survival("big", by="true", db=db),
            "runs()": lambda: store.runs(db),
            "example_tokens(one example)": lambda: store.example_tokens("big", 12345, db),
            "survival from raw token rows (SQL)": lambda: _raw_survival(db, args.layers),
        }
        for name, query in queries.items():
            print(f"{name:<38} {1000 * timed(query):8.1f} ms")


def _raw_survival(db: Path, layers: int) -> pd.DataFrame:
    """The same numbers from the 5.75M token rows (the stored per-example counts make this unnecessary)."""
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT drop_layer, count(*) FROM tokens WHERE run_id = ? GROUP BY drop_layer",
                           ["big"]).df()


if __name__ == "__main__":
    main()
