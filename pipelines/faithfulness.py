"""Faithfulness of trained pruned models to their own unpruned weights, over a seeded test sample, into DuckDB.

    python -m pipelines.faithfulness --dataset imdb --run imdb-cpu [--stages ltp_hard,ts_dtp_hard,topk_trained]
                                     [--limit N] [--profile cpu]

For each stage's model (artifacts/models/<run>/<stage>), on the same test examples (the profile's seeded,
class-balanced sample; --limit overrides its size), at the length the model was trained at: the pruned and the
unpruned prediction, their confidences, ERASER's sufficiency and comprehensiveness of the tokens the classifier read
(alive on entry to the last layer; pruning_core/text/faithfulness.py says exactly how), stored per example as one set per
model (a rerun replaces it); n_kept counts those tokens. A model whose method keeps every token is skipped: it is its own unpruned model. The profile (seed
and default sample size) is the one named in the models' metrics.json unless --profile says otherwise.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from pruning_core import storage as store
from pruning_core.analysis.faithfulness import faithfulness_summary
from pruning_core.classifier import ModelLoadError, UnsupportedModelError
from pruning_core.text.data import DATASETS, TextDataset, load_dataset
from pruning_core.text.faithfulness import measure
from pruning_core.loading import load_classifier, modality
from pruning_core.methods import has_method
from pruning_core.paths import METRICS_FILE, db_path, models_dir
from pruning_core.text import DEFAULT_MAX_LENGTH, PrunedTextClassifier

from .common import add_common, clear_errors, read_json
from pruning_core.text.profiles import PROFILES, Profile, profile_for

DEFAULT_STAGES = ("ltp_hard", "ts_dtp_hard", "topk_trained")   # the study's trained pruned models


def faith_id(training_run: str, stage: str) -> str:
    """e.g. imdb-cpu, ltp_hard -> imdb-cpu-ltp_hard: one set per trained model."""
    return f"{training_run}-{stage}"


def text_classifier(folder: Path, data: TextDataset) -> PrunedTextClassifier:
    """The saved text model in folder, checked against the dataset's classes."""
    if modality(folder) != "text":
        raise UnsupportedModelError(f"{folder} does not hold a text classifier.")
    classifier = load_classifier(folder)
    if len(classifier.label_names) != len(data.label_names):
        raise ValueError(f"{folder} has {len(classifier.label_names)} labels ({', '.join(classifier.label_names)}) "
                         f"but {data.name} has {len(data.label_names)} ({', '.join(data.label_names)}).")
    return classifier


def example_rows(classifier: PrunedTextClassifier, data: TextDataset, max_length: int,
                 batch_size: int = 32) -> pd.DataFrame:
    """One row per example of data: the columns of the store's `faithfulness` table."""
    figures = measure(classifier, data.texts, max_length, batch_size, progress=True)
    return pd.DataFrame({
        "example_id": range(len(figures)), "label": data.labels,
        "pruned_prediction": [f.pruned_prediction for f in figures],
        "unpruned_prediction": [f.unpruned_prediction for f in figures],
        "pruned_confidence": [f.pruned_confidence for f in figures],
        "unpruned_confidence": [f.unpruned_confidence for f in figures],
        "full_probability": [f.full_probability for f in figures],
        "sufficiency": [f.sufficiency for f in figures], "comprehensiveness": [f.comprehensiveness for f in figures],
        "n_kept": [f.n_kept for f in figures], "n_tokens": [f.n_tokens for f in figures]})


def run(dataset: str, training_run: str, stages: tuple[str, ...] = DEFAULT_STAGES, limit: int | None = None,
        profile: Profile | None = None, db: str | Path | None = None, data_dir: str | None = None,
        artifacts: str | None = None, batch_size: int = 32) -> pd.DataFrame:
    """Measure and store each stage's model of the training run that exists; returns the stored sets' summary."""
    run_folder = models_dir(artifacts) / training_run
    found = [stage for stage in stages if has_method(run_folder / stage)]
    if not found:
        raise ModelLoadError(f"No trained model {' or '.join(stages)} under {run_folder}: run pipelines.train first.")
    trained = {stage: read_json(run_folder / stage / METRICS_FILE) for stage in found}
    if profile is None:
        named = next((m["profile"] for m in trained.values() if m.get("profile") in PROFILES), None)
        profile = profile_for(named, dataset) if named else None
    seed = profile.seed if profile else 0
    limit = limit or (profile.trace_limit if profile else None)
    data = load_dataset(dataset, "test", data_dir, limit=limit, seed=seed)
    database = db_path(db, artifacts)
    for stage in found:
        folder = run_folder / stage
        max_length = trained[stage].get("max_length") or (profile.max_length if profile else DEFAULT_MAX_LENGTH)
        print(f"[faithfulness] {training_run}/{stage}: {len(data):,} test examples at {max_length} tokens", flush=True)
        classifier = text_classifier(folder, data)
        if not classifier.method.removes_tokens:
            print(f"[faithfulness] {training_run}/{stage} keeps every token: it is its own unpruned model, skipped",
                  flush=True)
            continue
        if classifier.method.merges_tokens:
            print(f"[faithfulness] {training_run}/{stage} merges tokens into the rows it keeps, so the rows it read "
                  "stand for every token: there is no rationale to measure, skipped", flush=True)
            continue
        began = time.perf_counter()
        rows = example_rows(classifier, data, max_length, batch_size)
        store.write_faithfulness({
            "faith_id": faith_id(training_run, stage), "dataset": dataset, "training_run": training_run,
            "stage": stage, "profile": trained[stage].get("profile") or (profile.name if profile else None),
            "method": classifier.method.name, "method_config": json.dumps(classifier.method.config()),
            "model_path": str(folder.resolve()), "label_names": data.label_names, "n_examples": len(data),
            "config": json.dumps({"max_length": max_length, "limit": limit, "seed": seed, "batch_size": batch_size,
                                  "source": data.source,
                                  "threads": torch.get_num_threads()}),
            "seconds": time.perf_counter() - began}, rows, database)
    summary = faithfulness_summary(dataset, training_run, db=database)
    print(summary[["stage", "n_examples", "agreement", "sufficiency", "comprehensiveness", "kept_share"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4f}"), flush=True)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser, dataset=False, profile=False)
    parser.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    parser.add_argument("--run", help="training run under artifacts/models (default <dataset>-<profile>)")
    parser.add_argument("--stages", default=",".join(DEFAULT_STAGES),
                        help=f"comma-separated stages of the run (default {','.join(DEFAULT_STAGES)})")
    parser.add_argument("--limit", type=int, help="test examples (a seeded class-balanced sample; default: the "
                                                  "profile's traced sample)")
    parser.add_argument("--profile", choices=PROFILES, help="whose seed and sample size (default: the one named in "
                                                           "the models' metrics.json)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    stages = tuple(stage.strip() for stage in args.stages.split(",") if stage.strip())
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    with clear_errors():
        profile = profile_for(args.profile, args.dataset) if args.profile else None
        run(args.dataset, args.run or f"{args.dataset}-{args.profile or 'quick'}", stages, args.limit, profile,
            db_path(args.db, args.artifacts), args.data_dir, args.artifacts, args.batch_size)


if __name__ == "__main__":
    main()
