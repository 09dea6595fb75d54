"""Timing settings side by side, for text and images: every setting takes its turn within each round, so
machine noise hits them alike, and each measurement keeps its best round: on a shared machine other jobs
only ever add time, so the minimum is the most repeatable estimate of what the setting itself costs."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import pandas as pd
from tqdm.auto import tqdm


def time_side_by_side(runners: dict[str, Callable], batches: list, singles: list, rounds: int, examples: int
                      ) -> dict[str, tuple[float, float]]:
    """{name: (examples per second over the batches (holding `examples` in all), median milliseconds per
    single)}, for text or images.

    Every runner takes its turn within each round, and each measurement keeps its best round."""
    def run_all(run: Callable, inputs: list) -> float:
        began = time.perf_counter()
        for batch in inputs:
            run(batch)
        return time.perf_counter() - began

    for run in runners.values():  # warm-up
        run_all(run, batches[:1] + singles[:1])
    batch_times = {name: [] for name in runners}
    single_times = {name: [[] for _ in singles] for name in runners}
    for _ in tqdm(range(rounds), desc="timing rounds"):
        for name, run in runners.items():
            batch_times[name].append(run_all(run, batches))
            for number, single in enumerate(singles):
                single_times[name][number].append(run_all(run, [single]))
    # Best round per measurement; latency: the median over examples of each example's best time.
    return {name: (examples / min(batch_times[name]),
                   1000 * statistics.median(min(times) for times in single_times[name])) for name in batch_times}


def speed_columns(frame: pd.DataFrame, speeds: dict[str, tuple[float, float]], reference: str = "unpruned"
                  ) -> pd.DataFrame:
    """The timing columns of a sweep's rows, speed-ups relative to the reference setting."""
    frame = frame.assign(throughput_b32=[speeds[name][0] for name in frame["setting"]],
                         latency_b1_ms=[speeds[name][1] for name in frame["setting"]])
    return frame.assign(speedup_b32=frame["throughput_b32"] / speeds[reference][0],
                        speedup_b1=speeds[reference][1] / frame["latency_b1_ms"])


def wait_for_quiet(busy_percent: float = 25.0, limit_seconds: float = 300.0) -> float:
    """Wait until other processes leave the CPUs mostly idle (system load under `busy_percent` over 2 s),
    at most `limit_seconds`: a speed measured on a busy machine sizes runs and speed-ups wrongly. Returns
    the load last seen."""
    import psutil
    waited, load = 0.0, psutil.cpu_percent(interval=2.0)
    while load > busy_percent and waited < limit_seconds:
        if waited == 0:
            print(f"Other processes keep the CPUs {load:.0f}% busy: waiting up to {limit_seconds / 60:.0f} min for "
                  "them to finish before timing.", flush=True)
        time.sleep(3.0)
        waited += 5.0
        load = psutil.cpu_percent(interval=2.0)
    return load
