"""What the speed benchmarks share: settings that switch one model's method, timed in turn round after
round (so machine noise hits them alike) and summed up by their medians; a fixed thread count and a quiet
machine before timing; the --json/--rounds/--threads options; the line that says what speed-ups are against."""
from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable

from pipelines.timing import machine_cores


def with_method(classifier, method) -> Callable:
    """A runner that gives the classifier this method, then runs it on its inputs (settings share one model)."""
    def run(*inputs):
        classifier.method = method
        return classifier(*inputs)
    return run


def median_seconds(runners: dict[str, Callable], inputs: tuple, rounds: int, repeats: int) -> dict[str, float]:
    """{name: median seconds of one call on inputs}: a warm-up call each, then every runner in turn within
    each round, `repeats` calls a turn."""
    def once(run: Callable) -> float:
        start = time.perf_counter()
        run(*inputs)
        return time.perf_counter() - start

    for run in runners.values():
        once(run)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            times[name].extend(once(run) for _ in range(repeats))
    return {name: statistics.median(samples) for name, samples in times.items()}




def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per setting (default 5)")
    parser.add_argument("--threads", type=int, default=machine_cores(),
                        help="torch threads, fixed before timing (default: this machine's cores, here "
                             f"{machine_cores()})")


def reference_note(results: dict) -> str:
    """What the speed-ups are against, as measured (`last_layer_cls_only` from a forward pass, not assumed)."""
    if results["last_layer_cls_only"]:
        return ("speed-ups against our unpruned loop with a CLS-only last layer (the strongest unpruned path; "
                "'transformers' is the library's own model as most users run it, for reference)")
    return ("speed-ups against our unpruned loop, whose last layer computed every row (not CLS alone: "
            "last_layer_cls_only false); 'transformers' is the library's own model, for reference")


def report(results: dict, as_json: bool, print_table: Callable[[dict], None]) -> None:
    if as_json:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}))
    else:
        print_table(results)
