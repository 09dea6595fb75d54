"""CIFAR-10 through the pipelines: train the ViT, trace it, benchmark it, into the same store as text.

    python -m pipelines.train --dataset cifar10 --profile quick|cpu
    python -m pipelines.trace --dataset cifar10 --profile quick|cpu
    python -m pipelines.benchmark --dataset cifar10 --profile quick|cpu
    python -m pipelines.demo --datasets cifar10          # all three on the quick profile (about 10 minutes)

Training (profiles in pruning_core/vision/profiles.py) first holds the profile's `validation_limit`
images (5,000, class-balanced, seeded) out of CIFAR-10's training split and trains on the rest; every
model is scored on those validation images after training (its metrics.json), so test images appear
only in the traces and the benchmark. It sizes the run to the profile's budget from a few timed steps,
runs once on every patch up to the profile's `prune_after_epochs`, forks, and trains the copies
together on the same batches: `unpruned` (no pruning, the teacher), `pruned` (the cascading schedule at
`train_alpha`), `distilled` (the same schedule, learning the teacher's predictions too) and, where the profile
merges, `merged` (token merging down to the same row counts as that schedule), saved under
artifacts/models/cifar10-<profile>/. Each model folder appears only when
complete; a re-run with every model present trains nothing, otherwise the run is trained again and
only the missing models are written. Tracing stores the trained forks and the unpruned
model pruned at inference (per image and layer: the kept patches and their scores). The benchmark
measures, side by side, the unpruned model, the schedule applied at inference to it (pruning, and merging
where the profile merges), and the trained forks, over the alpha sweep at the profile's r_max, storing
every image's prediction and test index
(`example_ids`) so that accuracy differences get paired intervals. It waits for a quiet machine before
timing; speed-ups are against the unpruned model on our loop, whose last layer, like every model's,
computes only CLS's row (the one the head reads): the strongest unpruned path. The sweep's config
says so only when a forward pass of the unpruned model measured it (`last_layer_cls_only`).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from tqdm.auto import tqdm

from pruning_core.paths import METRICS_FILE, models_dir
from pruning_core.runtime import cpu_name
from pruning_core import storage as store
from pruning_core.analysis.flops import encoder_flops, model_dims
from pruning_core.distillation import Distillation
from pruning_core.methods import NoPruning, PruningMethod, TokenMerging, TopK
from pruning_core.metrics import classification_metrics
from pruning_core.training import StepCallback, TrainResult
from pruning_core.vision import (CIFAR10_CLASSES, ImageDataset, PrunedVisionClassifier, VisionTrainer,
                                 load_cifar10, load_vision_classifier, train_alongside, vision_accuracy)
from pruning_core.vision.budget import measure_step_seconds
from pruning_core.vision.data import load_cifar10_training
from pruning_core.vision.profiles import PROFILES, VisionProfile

from .common import publish_model, read_json
from .timing import last_layer_cls_only, speed_columns, time_side_by_side, wait_for_quiet
from .trace_store import TracedRun

DATASET = "cifar10"
STAGES = ("unpruned", "pruned", "distilled", "merged")   # trained together after the shared warm-up
PHASES = ("plan", "warmup", "forks")            # what on_stage reports: timing, the shared epochs, the forks


def vision_profile(name: str) -> VisionProfile:
    if name not in PROFILES:
        raise ValueError(f"No {name!r} profile for {DATASET}; choose from {', '.join(PROFILES)}.")
    return PROFILES[name]


def profile_from_args(parser: argparse.ArgumentParser, name: str, **overrides) -> VisionProfile:
    """The named profile with the command line's overrides, or a usage error naming the profiles that exist."""
    try:
        return vision_profile(name).with_overrides(**overrides)
    except ValueError as error:
        parser.error(str(error))


def run_folder(profile: VisionProfile, artifacts: str | Path | None = None) -> Path:
    return models_dir(artifacts) / f"{DATASET}-{profile.name}"


def stages(profile: VisionProfile) -> tuple[str, ...]:
    """The models a run trains: the unpruned teacher and the forks the profile asks for."""
    wanted = {"distilled": profile.distillation is not None, "merged": profile.merging}
    return tuple(stage for stage in STAGES if wanted.get(stage, True))


def schedule(profile: VisionProfile, alpha: float | None = None) -> TopK:
    return TopK(r_max=profile.r_max, alpha=profile.train_alpha if alpha is None else alpha, score=profile.score)


def merging(profile: VisionProfile, alpha: float | None = None) -> TokenMerging:
    """Token merging down to the same row counts as the pruning schedule at these settings."""
    return TokenMerging(r_max=profile.r_max, alpha=profile.train_alpha if alpha is None else alpha)


def fork_methods(profile: VisionProfile) -> list[tuple[PruningMethod, Distillation | None]]:
    """What each fork after `unpruned` trains with, in stages(profile)'s order."""
    methods = {"pruned": (schedule(profile), None), "distilled": (schedule(profile), profile.distillation),
               "merged": (merging(profile), None)}
    return [methods[stage] for stage in stages(profile)[1:]]


# ----------------------------------------------------------------------------------------------- train

def train(profile: VisionProfile, data_dir: str | None = None, artifacts: str | Path | None = None,
          on_stage: Callable[[str, str], None] | None = None, on_step: StepCallback | None = None
          ) -> dict[str, dict]:
    """Train the profile's run unless all its models exist; returns each model's metrics.

    With a budget, a few steps of each stretch are timed first and the epochs sized to fit. Then the
    warm-up on every patch, and the forks together: `unpruned` teaches, the other forks learn
    (models already complete are not overwritten). on_stage(phase, what) says when a phase (plan, warmup,
    forks) starts or is skipped; on_step(done, total) follows it."""
    folder = run_folder(profile, artifacts)
    wanted = stages(profile)
    missing = [stage for stage in wanted if not (folder / stage / METRICS_FILE).is_file()]
    if not missing:
        for phase in PHASES:
            if on_stage:
                on_stage(phase, "skipped (already complete)")
        return {stage: read_json(folder / stage / METRICS_FILE) for stage in wanted}
    began = time.perf_counter()
    train_set, validation = load_cifar10_training(data_dir, profile.validation_limit, profile.train_limit,
                                                  profile.train.seed, profile.validation_seed)
    classifier = PrunedVisionClassifier.from_config(profile.model_config(), NoPruning(), seed=profile.train.seed)
    forks = fork_methods(profile)
    plan = {}
    if profile.budget_minutes is not None:
        if on_stage:
            on_stage("plan", "timing a few steps of each stretch")
        wait_for_quiet()
        seconds = measure_step_seconds(classifier, train_set.pixels, train_set.labels, profile.train, forks)
        budget = profile.budget_minutes
        profile = profile.fit(len(train_set) // profile.train.batch_size, seconds, time.perf_counter() - began)
        plan = {"budget_minutes": budget, "step_seconds": asdict(seconds), "epochs": profile.train.epochs,
                "low_res_epochs": profile.train.low_res_epochs, "prune_after_epochs": profile.prune_after_epochs}
    trainer = VisionTrainer(classifier, train_set.pixels, train_set.labels, profile.train)
    if plan:
        plan["planned_minutes"] = round((time.perf_counter() - began + profile.seconds(trainer.steps_per_epoch, seconds)
                                         + profile.evaluation_seconds(seconds)) / 60, 1)
        print(f"Plan for {budget:g} minutes on {cpu_name()}: "
              f"{profile.describe_plan(trainer.steps_per_epoch, seconds, 'bf16' if trainer.bf16 else 'fp32')}",
              flush=True)
    if on_stage:
        on_stage("warmup", "training")
    trainer.train_until(profile.prune_after_epochs, prune=False, description="warm-up, every patch", on_step=on_step)
    students = [trainer.fork(method, distillation) for method, distillation in forks]
    if on_stage:
        on_stage("forks", "training")
    results = train_alongside(trainer, students, description=" and ".join(wanted), on_step=on_step)
    seconds_taken = time.perf_counter() - began
    for stage, run, result in zip(wanted, [trainer, *students], results):
        if stage in missing:
            _publish(stage, run.classifier, result, folder, profile, train_set, validation, seconds_taken, plan,
                     "bf16" if trainer.bf16 else "fp32")
    if plan:
        print(f"Planned {plan['planned_minutes']:g} minutes, took {(time.perf_counter() - began) / 60:.1f} "
              "(training and evaluation).", flush=True)
    return {stage: read_json(folder / stage / METRICS_FILE) for stage in wanted}


def _publish(stage: str, classifier: PrunedVisionClassifier, result: TrainResult, folder: Path,
             profile: VisionProfile, train_set: ImageDataset, validation: ImageDataset, train_seconds: float,
             plan: dict, precision: str) -> None:
    """Score the model on the validation images (never on test images) and save it with its metrics."""
    accuracy = vision_accuracy(classifier, validation.pixels, validation.labels)
    metrics = {"dataset": DATASET, "profile": profile.name, "stage": stage, "accuracy": accuracy,
               "evaluated_on": "validation", "method": classifier.method.name, "r_max": profile.r_max,
               "train_alpha": profile.train_alpha, "score": profile.score,
               "prune_after_epochs": profile.prune_after_epochs,
               "low_res_epochs": profile.train.low_res_epochs if profile.train.low_res_size else 0.0,
               "epochs": profile.train.epochs, "n_train": len(train_set), "n_validation": len(validation),
               "validation_seed": profile.validation_seed,
               "distillation": asdict(profile.distillation) if stage == "distilled" else None,
               "validation_source": f"{len(validation):,} images held out of {validation.source}",
               "label_names": list(CIFAR10_CLASSES), "cpu": cpu_name(),
               "precision": precision, "plan": plan or None, "train_seconds": train_seconds,
               "train": result.as_dict()}
    publish_model(classifier, metrics, folder / stage)
    print(f"{stage}: accuracy {accuracy:.4f} on {len(validation):,} validation images "
          f"(trained in {train_seconds / 60:.1f} min, the forks together)", flush=True)


# ----------------------------------------------------------------------------------------------- trace

def trace(profile: VisionProfile, db: Path, data_dir: str | None = None, artifacts: str | Path | None = None,
          limit: int | None = None, batch_size: int = 64) -> list[dict]:
    """Trace the pruned model, and the unpruned one pruned at inference, over a test sample; returns the runs."""
    folder = run_folder(profile, artifacts)
    test = load_cifar10("test", data_dir, limit=limit or profile.trace_limit, seed=profile.train.seed)
    names = [f"{DATASET} test #{index}" for index in test.split_indices().tolist()]
    rows = []
    traced_models = [("pruned", None, "pruned"), ("unpruned", schedule(profile), "unpruned_inference")]
    traced_models += [(stage, None, stage) for stage in stages(profile)[2:]]
    for stage, method, label in traced_models:
        classifier = load_vision_classifier(folder / stage, method)
        run_id = f"{folder.name}-{label}-test"
        traced = TracedRun(run_id)
        for start in tqdm(range(0, len(test), 1024), desc=f"trace {run_id}"):
            with traced.timing():
                traces = classifier.trace(test.pixels[start:start + 1024], test.labels[start:start + 1024].tolist(),
                                          batch_size=batch_size, names=names[start:start + 1024])
            traced.add(traces, first_example_id=start)
        row = {"run_id": run_id, "dataset": DATASET, "split": "test", "model_path": str((folder / stage).resolve()),
               "training_run": folder.name, "stage": label, "profile": profile.name, "method": classifier.method.name,
               "method_config": json.dumps(classifier.method.config()),
               "config": json.dumps({"batch_size": batch_size, "limit": len(test), "source": test.source}),
               "label_names": list(CIFAR10_CLASSES), "num_layers": classifier.num_layers}
        rows.append(traced.write(row, list(CIFAR10_CLASSES), db))
    return rows


# ----------------------------------------------------------------------------------------------- benchmark

def sweep(profile: VisionProfile, artifacts: str | Path | None = None
          ) -> list[tuple[str, PrunedVisionClassifier, PruningMethod, str]]:
    """(setting, model, method, model path): unpruned; the schedule at inference on it; the pruned models."""
    folder = run_folder(profile, artifacts)
    unpruned = load_vision_classifier(folder / "unpruned", device="cpu")   # the benchmark times the CPU
    settings = [("unpruned", unpruned, NoPruning(), folder / "unpruned")]
    settings += [(f"inference-a{alpha}", unpruned, schedule(profile, alpha), folder / "unpruned")
                 for alpha in profile.alphas]
    if profile.merging:   # ToMe's way: merging applied to a model trained without it
        settings += [(f"merging-a{alpha}", unpruned, merging(profile, alpha), folder / "unpruned")
                     for alpha in profile.alphas]
    for stage in stages(profile)[1:]:
        model = load_vision_classifier(folder / stage, device="cpu")
        method = merging if stage == "merged" else schedule
        settings += [(f"{stage}-a{alpha}", model, method(profile, alpha), folder / stage) for alpha in profile.alphas]
    return [(name, model, method, str(path.resolve())) for name, model, method, path in settings]


@torch.inference_mode()
def benchmark(profile: VisionProfile, db: Path, data_dir: str | None = None,
              artifacts: str | Path | None = None) -> pd.DataFrame:
    """Accuracy, kept patches, FLOPs and measured speed of every setting, side by side; stores the sweep."""
    settings = sweep(profile, artifacts)
    test = load_cifar10("test", data_dir, limit=profile.eval_limit, seed=profile.train.seed)
    rows = []
    for name, model, method, path in tqdm(settings, desc="accuracy per setting"):
        model.method = method
        predictions = model.predict(test.pixels).tolist()
        metrics = classification_metrics(test.labels.tolist(), predictions, list(CIFAR10_CLASSES))
        counts = _kept_counts(model, method)
        hidden, intermediate = model_dims(model.config)
        rows.append({"setting": name, "method": method.name, "method_config": json.dumps(method.config()),
                     "thresholds": None, "model_path": path, "n_examples": len(test), "accuracy": metrics.accuracy,
                     "macro_f1": metrics.macro_f1, "mean_kept": [float(c) for c in counts],
                     "keep_fraction": [c / model.num_tokens for c in counts],
                     "flops": encoder_flops(model.num_tokens, counts, hidden, intermediate),
                     "predictions": predictions, "example_ids": test.ids})

    # Preprocessing is the same for every setting, so it stays out of the timing.
    prepare = settings[0][1].pixel_values
    batches = [prepare(test.pixels[i:i + 32]) for i in range(0, min(len(test), 32 * profile.bench_speed_batches), 32)]
    singles = [prepare(test.pixels[i:i + 1]) for i in range(min(len(test), profile.bench_latency_examples))]

    def runner(model: PrunedVisionClassifier, method: PruningMethod) -> Callable:
        def run_batch(pixel_values: torch.Tensor) -> None:
            model.method = method   # settings share models
            model(pixel_values)
        return run_batch

    busy_percent = wait_for_quiet()
    speeds = time_side_by_side({name: runner(model, method) for name, model, method, _ in settings},
                               batches, singles, profile.bench_rounds, sum(len(b) for b in batches))
    cls_only = last_layer_cls_only(settings[0][1], batches[0])   # the reference: the unpruned model
    frame = speed_columns(pd.DataFrame(rows), speeds)
    bench_id = f"{run_folder(profile).name}-{datetime.now():%Y%m%d-%H%M%S}"
    config = {"training_run": run_folder(profile).name, "r_max": profile.r_max, "train_alpha": profile.train_alpha,
              "score": profile.score, "eval_limit": profile.eval_limit, "rounds": profile.bench_rounds,
              "speed_batches": profile.bench_speed_batches, "threads": torch.get_num_threads(), "timed_on": cpu_name(),
              "cpu_busy_percent": busy_percent, "last_layer_cls_only": cls_only, "reference": "unpruned",
              "batching": f"batches of 32 test images, each {settings[0][1].num_tokens} tokens", "padding_share": 0.0}
    trained = read_json(run_folder(profile, artifacts) / "unpruned" / METRICS_FILE)   # where and how it was trained
    config.update({key: trained.get(key) for key in ("cpu", "precision", "train_seconds", "plan")})
    store.write_benchmark({"bench_id": bench_id, "dataset": DATASET, "profile": profile.name,
                           "labels": test.labels.tolist(), "config": json.dumps(config)}, frame, db)
    print(frame[["setting", "accuracy", "flops", "throughput_b32", "latency_b1_ms", "speedup_b32"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4g}"), flush=True)
    return frame


def _kept_counts(model: PrunedVisionClassifier, method: PruningMethod) -> list[int]:
    """Rows (CLS included) alive after each layer: the schedule fixes them for every image."""
    counts = method.expected_counts(model.num_tokens, model.num_layers)
    if counts is None:
        raise ValueError(f"{method.describe()} does not fix its counts in advance; the vision sweep needs it to.")
    return counts
