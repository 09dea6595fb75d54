"""A profile end to end for both datasets: train, trace, analyze, benchmark, faithfulness (`quick` by default).

    python -m pipelines.demo [--progress-file PATH] [--datasets imdb,ag_news]   # 6-14 minutes on 2 cores
    python -m pipelines.demo --profile cpu     # the study (LTP, TS-DTP, top-k trained, an equally trained
                                               # control): about 3 hours for both datasets on 2 cores
    python -m pipelines.demo --datasets cifar10     # the ViT (pipelines/vision.py): about 10 minutes

Models land in artifacts/models/<dataset>-quick/<stage>/, everything else in the DuckDB file. Finished
training stages are skipped, so a second run only re-traces and re-analyses. With --progress-file, the
file holds {"fraction": 0..1, "message": "...", "done": bool, "error": str|null, "started": epoch seconds,
"skipped": the share of the fraction found already done}, rewritten atomically as the demo goes (within a
training stage step by step, at most about once a second); when it stops, "done" is true and "error" holds
the reason if it failed.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from pruning_core.text.data import DATASETS
from pruning_core.hub import download_notes
from pruning_core.paths import METRICS_FILE, db_path, models_dir
from pruning_core.text import examples as text_examples, load_text_classifier
from pruning_core.vision.profiles import VisionProfile

from . import analyze, benchmark, faithfulness, train, trace, vision
from .common import WINGS, add_common, clear_errors, wing_of, write_json
from pruning_core.text.profiles import Profile, profile_for

# Share of a dataset's work per step, roughly as the time goes on 2 cores; a method's soft and hard
# stages weigh like LTP's. The ViT's steps (pipelines/vision.py) weigh about as much as a text dataset.
STEP_WEIGHTS = {"baseline": 0.22, "soft": 0.13, "hard": 0.07, "control": 0.22, "trained": 0.1,
                "trace": 0.1, "analyze": 0.12, "benchmark": 0.1, "faithfulness": 0.03}
IMAGE_WEIGHTS = {"plan": 0.02, "warmup": 0.48, "forks": 0.2, "trace": 0.1, "benchmark": 0.2}
WRITE_INTERVAL = 1.0       # seconds between progress-file writes within a stage (the Home page polls every second)
FAITHFULNESS_LIMIT = 200   # test examples the demo measures faithfulness on (pipelines/faithfulness.py: any number)


def dataset_weight(profile: Profile | VisionProfile) -> float:
    if isinstance(profile, VisionProfile):
        return sum(IMAGE_WEIGHTS.values())
    stages = {stage for method in profile.methods for stage in train.stages_for(method)}
    return sum(_text_weight(stage) for stage in stages) + sum(STEP_WEIGHTS[step] for step in
                                                              ("trace", "analyze", "benchmark", "faithfulness"))


def _text_weight(stage: str) -> float:
    return STEP_WEIGHTS[stage.rsplit("_", 1)[-1]]


class Progress:
    """Writes the progress JSON the Home page polls (no file: only prints).

    Steps begin and end with `update` (printed, always written); a running step reports how far it is with
    `advance`, which moves the fraction within that step's weight and writes at most every `interval`
    seconds. Weight counted for work found already done is `skipped`, so the page can tell the pace of
    the work really done here (the time left) from the start."""

    def __init__(self, path: str | Path | None, total: float, clock: Callable[[], float] = time.monotonic,
                 interval: float = WRITE_INTERVAL):
        self.path, self.total, self.clock, self.interval = (Path(path) if path else None), total, clock, interval
        self.done_weight = self.running_weight = self.skipped_weight = 0.0
        self.message, self.started, self.last_write = "", time.time(), -math.inf

    @property
    def fraction(self) -> float:
        return min((self.done_weight + self.running_weight) / self.total, 0.99)

    def update(self, message: str, weight: float = 0.0, done: bool = False, error: str | None = None,
               skipped: bool = False) -> None:
        """A step ends (its `weight` counts in full; `skipped`: found already done) or the next one begins."""
        self.done_weight += weight
        self.skipped_weight += weight if skipped else 0.0
        self.running_weight, self.message = 0.0, message
        fraction = 1.0 if done and error is None else self.fraction
        print(f"[demo {100 * fraction:.0f}%] {message}", flush=True)
        self._write(fraction, message, done, error)

    def advance(self, weight: float, done: int, total: int, detail: str = "") -> None:
        """The running step, of `weight`, has done `done` of its `total` units (steps)."""
        self.running_weight = weight * min(max(done / max(total, 1), 0.0), 1.0)
        if self.clock() - self.last_write >= self.interval:
            self._write(self.fraction, self.message + detail)

    def _write(self, fraction: float, message: str, done: bool = False, error: str | None = None) -> None:
        self.last_write = self.clock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.path, {"fraction": round(fraction, 4), "message": message, "done": done, "error": error,
                                   "started": self.started, "skipped": round(self.skipped_weight / self.total, 4)})


class StageProgress:
    """Turns training's on_stage(stage, what) and on_step(done, total) calls into progress: the running
    stage moves within its weight step by step; its weight counts in full once, when it ends or is found
    already trained (the baseline is met once per method)."""

    def __init__(self, progress: Progress, name: str, weight_of: Callable[[str], float]):
        self.progress, self.name, self.weight_of = progress, name, weight_of
        self.running: str | None = None
        self.counted: set[str] = set()

    def __call__(self, stage: str, what: str) -> None:
        self.finish()
        if what.startswith("skipped"):
            if stage not in self.counted:
                self.progress.update(f"{self.name}: {stage} already trained", self.weight_of(stage), skipped=True)
        else:
            self.progress.update(f"{self.name}: training {stage.replace('_', ' ')}")
            self.running = stage
        self.counted.add(stage)

    def step(self, done: int, total: int) -> None:
        if self.running:
            self.progress.advance(self.weight_of(self.running), done, total, f", step {done} of {total}")

    def finish(self) -> None:
        if self.running:
            stage, self.running = self.running, None
            self.progress.update(f"{self.name}: {stage} done", self.weight_of(stage))


def demo_dataset(dataset: str, profile: Profile, progress: Progress, data_dir: str | None,
                 artifacts: str | None, db: Path) -> None:
    name = DATASETS[dataset].name
    run_name = f"{dataset}-{profile.name}"
    stages = StageProgress(progress, name, _text_weight)
    for method in profile.methods:
        train.run(dataset, profile, run_name, data_dir=data_dir, artifacts=artifacts, on_stage=stages,
                  method=method, on_step=stages.step)
        stages.finish()
    folder = models_dir(artifacts) / run_name
    final_stages = [train.stages_for(method)[-1] for method in profile.methods]
    check_examples(folder, dataset, final_stages)
    progress.update(f"{name}: tracing the test split")
    for stage in ("baseline", *final_stages):
        trace.run(folder / stage, dataset, limit=profile.trace_limit, db=db, data_dir=data_dir, seed=profile.seed)
    progress.update(f"{name}: analysing retained tokens", STEP_WEIGHTS["trace"])
    analyzed = "ltp_hard" if "ltp_hard" in final_stages else final_stages[-1]
    analyze.run(trace.default_run_id(folder / analyzed, "test"), profile, db, data_dir)
    progress.update(f"{name}: benchmarking speed and accuracy", STEP_WEIGHTS["analyze"])
    benchmark.run(dataset, profile, run_name, db, data_dir, artifacts)
    progress.update(f"{name}: faithfulness of the pruned models to their unpruned weights", STEP_WEIGHTS["benchmark"])
    faithfulness.run(dataset, run_name, tuple(final_stages), FAITHFULNESS_LIMIT, profile, db, data_dir, artifacts)
    progress.update(f"{name}: done", STEP_WEIGHTS["faithfulness"])


def check_examples(folder: Path, dataset: str, stages: list[str]) -> None:
    """Whether each pruned model shows pruning on the dashboard's built-in examples of its dataset (each classified
    right with at least MIN_DROPPED of its tokens removed before the classifier): printed, and kept in the stage's
    metrics.json under "examples" (a demo model that prunes nothing on them shows a newcomer nothing)."""
    examples = text_examples.examples_of(dataset)
    for stage in stages if examples else ():
        outcomes = text_examples.check_examples(load_text_classifier(folder / stage, device="cpu"), examples)
        shown = sum(outcome.shows_pruning() for outcome in outcomes)
        print(f"[demo] {folder.name}/{stage}: {shown} of {len(outcomes)} built-in examples classified right with "
              f"at least {text_examples.MIN_DROPPED:.0%} of their tokens removed", flush=True)
        for outcome in outcomes:
            print(f"[demo]   {outcome.describe()}", flush=True)
        metrics_file = folder / stage / METRICS_FILE
        metrics = json.loads(metrics_file.read_text())
        metrics["examples"] = [{"name": outcome.example.name, "label": outcome.example.label,
                                "predicted": outcome.predicted, "tokens": outcome.tokens, "read": outcome.read,
                                "shows_pruning": outcome.shows_pruning()} for outcome in outcomes]
        write_json(metrics_file, metrics)


def demo_images(dataset: str, profile: VisionProfile, progress: Progress, data_dir: str | None,
                artifacts: str | None, db: Path) -> None:
    """The ViT on CIFAR-10 (`dataset`): train (unpruned and the profile's forks), trace, benchmark."""
    stages = StageProgress(progress, "CIFAR-10", IMAGE_WEIGHTS.get)
    vision.train(profile, data_dir, artifacts, on_stage=stages, on_step=stages.step)
    stages.finish()
    if "plan" not in stages.counted:   # a profile without a budget times nothing
        progress.update("CIFAR-10: sized in epochs", IMAGE_WEIGHTS["plan"], skipped=True)
    progress.update("CIFAR-10: tracing test images")
    vision.trace(profile, db, data_dir, artifacts)
    progress.update("CIFAR-10: benchmarking speed and accuracy", IMAGE_WEIGHTS["trace"])
    vision.benchmark(profile, db, data_dir, artifacts)
    progress.update("CIFAR-10: done", IMAGE_WEIGHTS["benchmark"])


# Each wing's profile and demo (pipelines.common.WINGS says which wing a dataset is in).
PROFILE_OF = {"text": profile_for, "vision": lambda name, dataset: vision.vision_profile(name)}
DEMO_OF = {"text": demo_dataset, "vision": demo_images}


def run(datasets: tuple[str, ...] = ("imdb", "ag_news"), progress_file: str | Path | None = None,
        data_dir: str | None = None, artifacts: str | None = None, db: str | Path | None = None,
        profiles: dict[str, Profile] | None = None, profile: str = "quick") -> float:
    """Build the demo; returns the wall time in seconds. Raises after recording the error in the progress file."""
    started = time.perf_counter()
    sizes = {dataset: (profiles or {}).get(dataset) or PROFILE_OF[wing_of(dataset)](profile, dataset)
             for dataset in datasets}
    progress = Progress(progress_file, total=sum(dataset_weight(p) for p in sizes.values()))
    database = db_path(db, artifacts)
    try:
        progress.update("starting")
        for note in download_notes(datasets, data_dir):   # say up front what the hub must provide
            print(f"[demo] {note}", flush=True)
        for dataset in datasets:
            DEMO_OF[wing_of(dataset)](dataset, sizes[dataset], progress, data_dir, artifacts, database)
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"
        progress.update(f"failed: {message}", done=True, error=message)
        raise
    seconds = time.perf_counter() - started
    progress.update(f"demo ready in {seconds / 60:.1f} min", done=True)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser, dataset=False)
    parser.add_argument("--progress-file", help="JSON file to keep up to date for a polling page")
    parser.add_argument("--datasets", default="imdb,ag_news", help="comma-separated (default imdb,ag_news)")
    parser.add_argument("--budget-minutes", type=float,
                        help="CIFAR-10: size the ViT's training to this many minutes instead of the profile's budget")
    args = parser.parse_args(argv)
    datasets = tuple(d.strip() for d in args.datasets.split(",") if d.strip())
    known = [dataset for wing in WINGS.values() for dataset in wing]
    unknown = [d for d in datasets if d not in known]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    try:
        with clear_errors():   # what a user can fix (no data, no network, a damaged database): one line
            images = {dataset: vision.profile_from_args(parser, args.profile, budget_minutes=args.budget_minutes)
                      for dataset in datasets if wing_of(dataset) == "vision" and args.budget_minutes is not None}
            run(datasets, args.progress_file, args.data_dir, args.artifacts, args.db, images, args.profile)
    except Exception:          # anything else is a bug: the whole traceback
        traceback.print_exc()
        sys.exit(1)


if __name__ == "__main__":
    main()
