"""The KV cache page's stored benchmark: the latest pipelines.kv sweep shaped for its charts (no Streamlit)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pruning_core.storage import kv as kv_store

TASKS = {"imdb": ("IMDb zero-shot sentiment", "accuracy"), "needle": ("AG News needle", "exact match")}
POS_BUDGET = 0.25      # the part-of-speech chart's budget (the sampled reviews' kept tokens are stored at it)
POS_SHOWN = 8          # the most frequent parts of speech shown


@dataclass
class Benchmark:
    sweep: dict
    results: pd.DataFrame     # kv_results
    timings: pd.DataFrame     # kv_timings
    retention: pd.DataFrame   # kv_retention

    @property
    def cpu(self) -> str:
        return str(self.sweep["config"].get("cpu", "the CPU it ran on"))


def latest(db: str | Path | None = None) -> Benchmark | None:
    """The newest stored sweep, None when there is none."""
    sweep = kv_store.kv_sweep(db=db)
    if sweep is None:
        return None
    sweep_id = sweep["sweep_id"]
    return Benchmark(sweep, kv_store.kv_results(sweep_id, db), kv_store.kv_timings(sweep_id, db),
                     kv_store.kv_retention(sweep_id, db))


def task_rows(benchmark: Benchmark, task: str) -> pd.DataFrame:
    return benchmark.results[benchmark.results["task"] == task]


def speed_points(benchmark: Benchmark, task: str, context: int) -> pd.DataFrame:
    """Per press and budget: the task's accuracy and the decode speed-up over the full cache at `context` tokens
    (press, budget, accuracy, speedup); the full cache at 1×."""
    timed = benchmark.timings[benchmark.timings["context_tokens"] == context]
    speed = timed.assign(speedup=timed["full_decode_ms"] / timed["decode_ms"])[["press", "budget", "speedup"]]
    rows = task_rows(benchmark, task)[["press", "budget", "accuracy"]]
    full = rows[rows["press"] == "full"].assign(speedup=1.0)
    pressed = rows[rows["press"] != "full"].merge(speed[speed["press"] != "full"], on=["press", "budget"])
    return pd.concat([full, pressed], ignore_index=True)


def pos_shares(benchmark: Benchmark) -> pd.DataFrame:
    """The kept share per part of speech at POS_BUDGET (press, category, total, share), the most frequent first."""
    frame = benchmark.retention
    frame = frame[(frame["facet"] == "pos") & (frame["budget"].sub(POS_BUDGET).abs() < 1e-9)]
    if frame.empty:
        return frame.assign(share=[])
    common = frame.groupby("category")["total"].max().nlargest(POS_SHOWN).index
    frame = frame[frame["category"].isin(common)]
    return frame.assign(share=frame["kept"] / frame["total"]).sort_values(["press", "total"], ascending=[True, False])
