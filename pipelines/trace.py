"""Run a saved model over a test split and write its trace into DuckDB.

    python -m pipelines.trace --model artifacts/models/imdb-quick/ltp_hard [--limit N] [--run-id ID] [--device cuda]
    python -m pipelines.trace --dataset cifar10 --profile quick     # the ViTs: see pipelines/vision.py

    # The same trace in shards (say one per GPU, in any order, at once), then stored as one run:
    python -m pipelines.trace --model M [--limit N] --shard 0/4    # ... --shard 3/4
    python -m pipelines.trace --model M --merge

Writes the run (config, accuracy, macro precision/recall/F1, confusion matrix, per-class report),
each example's prediction and, per token, the layer that dropped it and its per-layer scores, in one
transaction. Prints the model's time and the time spent writing, so the overhead stays visible.
The model runs on --device (auto: the GPU when present, else the CPU); the run's config names it.
With --shard I/N (I from 0 to N-1) only the I-th of N contiguous slices of the (seeded) sample is
traced and its rows are saved under <database folder>/trace_shards/<run id>/ instead; --merge stores
the complete set as the run, its metrics computed over all rows, in one transaction, exactly as one
unsharded trace would, and removes the shards.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm.auto import tqdm

from pruning_core.classifier import resolve_device
from pruning_core.text.data import load_dataset
from pruning_core.paths import METRICS_FILE, db_path
from pruning_core.text import DEFAULT_MAX_LENGTH, load_text_classifier

from . import vision
from .common import add_common, clear_errors, read_json, wing_of
from pruning_core.text.profiles import PROFILES
from .trace_store import ShardError, TracedRun, merge_shards


def default_run_id(model: Path, split: str) -> str:
    """e.g. artifacts/models/imdb-quick/ltp_hard -> imdb-quick-ltp_hard-test"""
    return f"{model.parent.name}-{model.name}-{split}"


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N), I from 0 to N-1."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N (e.g. 0/4), got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard {index} of {count}: I runs from 0 to N-1")
    return index, count


def device_name(text: str) -> str:
    """--device's value, checked at once: a GPU asked for where there is none is refused before anything loads."""
    try:
        resolve_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def shard_range(n: int, index: int, count: int) -> tuple[int, int]:
    """The examples [start, stop) of shard `index` of `count`: contiguous slices, sizes differing by one at most."""
    return n * index // count, n * (index + 1) // count


def shard_folder(db: Path, run_id: str) -> Path:
    """Where a run's shards wait to be merged: beside the database they go to."""
    return Path(db).parent / "trace_shards" / run_id


def run(model: str | Path, dataset: str | None = None, split: str = "test", limit: int | None = None,
        run_id: str | None = None, db: str | Path | None = None, data_dir: str | None = None,
        max_length: int | None = None, batch_size: int = 32, chunk: int = 1024, seed: int = 0,
        shard: tuple[int, int] | None = None, device: str = "auto") -> dict:
    """Trace the model over the split on `device` ("auto": the GPU when present) and store the run; returns the run's
    row.

    shard=(I, N) traces only the I-th of N slices and saves it for `merge` (returns the row without metrics)."""
    model = Path(model)
    trained = read_json(model / METRICS_FILE)
    dataset = dataset or trained.get("dataset")
    if dataset is None:
        raise ValueError(f"{model} has no {METRICS_FILE} naming its dataset; pass --dataset.")
    max_length = max_length or trained.get("max_length") or DEFAULT_MAX_LENGTH
    classifier = load_text_classifier(model, device=device)
    data = load_dataset(dataset, split, data_dir, limit=limit, seed=seed)
    if len(classifier.label_names) != len(data.label_names):
        raise ValueError(f"The model has {len(classifier.label_names)} labels ({', '.join(classifier.label_names)}) "
                         f"but {dataset} has {len(data.label_names)} ({', '.join(data.label_names)}).")
    run_id = run_id or default_run_id(model, split)
    if shard and shard[1] > len(data):
        raise ShardError(f"{shard[1]} shards for {len(data)} examples: use at most one shard per example.")
    first, stop = shard_range(len(data), *shard) if shard else (0, len(data))

    traced = TracedRun(run_id)
    for start in tqdm(range(first, stop, chunk), desc=f"trace {run_id}", unit_scale=chunk):
        end = min(start + chunk, stop)
        with traced.timing():
            traces = classifier.trace(data.texts[start:end], data.labels[start:end], max_length=max_length,
                                      batch_size=batch_size)
        traced.add(traces, first_example_id=start)
    row = {
        "run_id": run_id, "dataset": dataset, "split": split, "model_path": str(model.resolve()),
        "training_run": model.parent.name, "stage": model.name, "profile": trained.get("profile"),
        "method": classifier.method.name, "method_config": json.dumps(classifier.method.config()),
        "config": json.dumps({"max_length": max_length, "batch_size": batch_size, "limit": limit, "seed": seed,
                              "source": data.source, "device": str(classifier.device)}),
        "label_names": data.label_names, "num_layers": classifier.num_layers,
    }
    if shard:
        traced.save_shard(shard_folder(db_path(db, None), run_id), row, data.label_names, *shard, len(data))
        return row
    return traced.write(row, data.label_names, db_path(db, None))


def merge(run_id: str, db: str | Path | None = None) -> dict:
    """Store the run's complete set of shards as the run, in one transaction; returns its row."""
    database = db_path(db, None)
    return merge_shards(shard_folder(database, run_id), database)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser, dataset=False, profile=False)
    parser.add_argument("--model", help="a saved model folder (artifacts/models/<run>/<stage>); required for text")
    parser.add_argument("--dataset", help="default: the dataset named in the model's metrics.json; "
                                          "cifar10 traces the ViTs of --profile")
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="cifar10 only: whose ViTs to trace")
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument("--limit", type=int, help="trace a class-balanced sample of this many examples")
    parser.add_argument("--run-id", help="default <training run>-<stage>-<split>")
    parser.add_argument("--max-length", type=int, help="default: the length the model was trained at")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", type=device_name, default="auto",
                        help="auto (default: the GPU when present, else the CPU), cpu, cuda or cuda:N; text models")
    parser.add_argument("--shard", type=parse_shard, metavar="I/N",
                        help="trace only slice I (0..N-1) of N of the sample and save it for --merge")
    parser.add_argument("--merge", action="store_true",
                        help="store the run's traced shards (all N) in the database as one run")
    args = parser.parse_args(argv)
    if args.shard and args.merge:
        parser.error("--shard traces one slice, --merge stores them all: one or the other")
    wing = "text" if args.dataset is None else wing_of(args.dataset)   # a text model's folder names its dataset
    {"text": _trace_texts, "vision": _trace_images}[wing](parser, args)


def _trace_images(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.shard or args.merge:
        parser.error("--shard and --merge are for text models; the ViTs trace in one go")
    if args.device != "auto":
        parser.error("--device is for text models; the ViTs trace on 'auto' (the GPU when present)")
    profile = vision.profile_from_args(parser, args.profile)
    with clear_errors():
        vision.trace(profile, db_path(args.db, args.artifacts), args.data_dir, args.artifacts, args.limit)


def _trace_texts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.model and not (args.merge and args.run_id):
        parser.error("--model is required (a saved model folder), unless --dataset is cifar10 "
                     "or --merge names the --run-id")
    try:
        with clear_errors():
            if args.merge:
                merge(args.run_id or default_run_id(Path(args.model), args.split), db_path(args.db, args.artifacts))
            else:
                run(args.model, args.dataset, args.split, args.limit, args.run_id, db_path(args.db, args.artifacts),
                    args.data_dir, args.max_length, args.batch_size, shard=args.shard, device=args.device)
    except ShardError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
