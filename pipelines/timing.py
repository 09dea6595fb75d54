"""Timing settings side by side, for text and images: every setting takes its turn within each round, so
machine noise hits them alike, and each measurement keeps its best round: on a shared machine other jobs
only ever add time, so the minimum is the most repeatable estimate of what the setting itself costs."""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable

import pandas as pd
import psutil
import torch
from tqdm.auto import tqdm

from pruning_core.classifier import PrunedClassifier
from pruning_core.methods import NoPruning


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
    waited, load = 0.0, psutil.cpu_percent(interval=2.0)
    while load > busy_percent and waited < limit_seconds:
        if waited == 0:
            print(f"Other processes keep the CPUs {load:.0f}% busy: waiting up to {limit_seconds / 60:.0f} min for "
                  "them to finish before timing.", flush=True)
        time.sleep(3.0)
        waited += 5.0
        load = psutil.cpu_percent(interval=2.0)
    return load


@torch.inference_mode()
def last_layer_cls_only(classifier: PrunedClassifier, *inputs) -> bool:
    """Whether the unpruned model computes only CLS's row in its last layer (the row the head reads), measured
    on one forward pass over `inputs` (more than one token each): the loop's output then holds one row. The
    reference every speed-up is taken against is the strongest unpruned path only when this is true. The
    classifier's method is put back."""
    method = classifier.method
    classifier.method = NoPruning()
    try:
        output = classifier(*inputs)
    finally:
        classifier.method = method
    return output.loop.hidden.shape[1] == 1   # (B, 1, D) when only CLS was computed


def machine_cores() -> int:
    """Physical cores this process may run on (hyper-threads share a core's arithmetic units)."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(allowed, psutil.cpu_count(logical=False) or allowed))


def settle(threads: int, limit_seconds: float = 300.0) -> float:
    """Fix torch's thread count, then wait (at most limit_seconds) for other processes to leave the CPUs mostly
    idle. Returns the CPU load last seen, in percent."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}.")
    torch.set_num_threads(threads)
    return wait_for_quiet(limit_seconds=limit_seconds)
