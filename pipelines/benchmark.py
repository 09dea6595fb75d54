"""Accuracy against speed for a dataset: pruning methods and settings swept side by side in one run.

    python -m pipelines.benchmark --dataset imdb --profile quick [--run imdb-quick]
    python -m pipelines.benchmark --dataset cifar10 --profile quick      # the ViT: see pipelines/vision.py

Settings, each on the same test examples (the profile's seeded sample, the one `trace` uses):
`unpruned` (the 1-epoch baseline), `control` (the unpruned model trained as long as the pruned ones),
`topk-{k}` (top-k schedules applied at inference to the control), `topk_trained-{k}` (the model trained
with top-k on, under each schedule), `ltp-x{s}` (the LTP model with its thresholds scaled by s) and
`ts_dtp`; the models that exist are swept. With the profile's `short_length`, `control-{n}` is the
control reading only the first n tokens: what reading the whole text costs and buys. A top-k schedule
keeps, by CLS attention, a share of the input falling geometrically from layer 0 to k at the last layer.
For each: accuracy and macro-F1, every example's prediction (for paired comparisons), mean tokens kept
per layer, analytic FLOPs, throughput at batch 32 and latency at batch 1. Timing runs every setting in
turn within each round (machine noise hits them alike) and keeps each setting's best
time per measurement: on a shared machine other jobs only ever add time, so the minimum is the most
repeatable estimate of what the setting itself costs.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from pruning_core.paths import db_path, models_dir
from pruning_core.runtime import ensure_fast_malloc

if __name__ == "__main__":
    ensure_fast_malloc()

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from pruning_core import store  # noqa: E402
from pruning_core.data import load_dataset  # noqa: E402
from pruning_core.methods import LearnedTokenPruning, NoPruning, PruningMethod, TopK, has_method  # noqa: E402
from pruning_core.metrics import evaluate  # noqa: E402
from pruning_core.text import PrunedTextClassifier, load_text_classifier  # noqa: E402

from . import vision  # noqa: E402
from .common import IMAGE_DATASETS, add_common, clear_errors  # noqa: E402
from .profiles import Profile, profile_for  # noqa: E402
from .timing import speed_columns, time_side_by_side  # noqa: E402


@dataclass
class Setting:
    name: str
    classifier: PrunedTextClassifier
    method: PruningMethod
    model_path: str
    max_length: int | None = None   # read the texts at this length instead of the profile's


# The model each training stage produced, and the setting that runs it as trained (the README's rows).
STAGE_LABELS = {"baseline": "baseline (1 epoch, no pruning)", "control": "unpruned, equally trained",
                "ltp_hard": "LTP", "topk_trained": "top-k, trained with pruning", "ts_dtp_hard": "TS-DTP"}


def sweep(models: dict[str, tuple[PrunedTextClassifier, str]], profile: Profile) -> list[Setting]:
    """The settings for the trained models found ({stage: (classifier, folder)})."""
    settings = []

    def add(name: str, stage: str, method: PruningMethod) -> None:
        if stage in models:
            classifier, path = models[stage]
            settings.append(Setting(name, classifier, method, path))

    add("unpruned", "baseline", NoPruning())
    add("control", "control", NoPruning())
    if profile.short_length and "control" in models:   # what reading the whole text costs and buys
        classifier, path = models["control"]
        settings.append(Setting(f"control-{profile.short_length}", classifier, NoPruning(), path,
                                profile.short_length))
    layers = models["baseline"][0].num_layers
    for stage, prefix in (("control", "topk"), ("topk_trained", "topk_trained")):
        for keep in profile.topk_final_keeps:
            add(f"{prefix}-{keep}", stage, TopK.geometric(keep, layers))
    if "ltp_hard" in models:
        learned = models["ltp_hard"][0].method.config()
        for scale in profile.ltp_threshold_scales:
            add(f"ltp-x{scale}", "ltp_hard", LearnedTokenPruning(layers, [t * scale for t in learned["thresholds"]],
                                                                  learned["temperature"], learned["keep_lambda"]))
    if "ts_dtp_hard" in models:
        add("ts_dtp", "ts_dtp_hard", models["ts_dtp_hard"][0].method)
    return settings


def trained_settings(profile: Profile, settings: list[Setting]) -> dict[str, str]:
    """{README row label: the setting that runs that stage's model as it was trained}."""
    as_trained = {"baseline": "unpruned", "control": "control", "ltp_hard": "ltp-x1.0",
                  "topk_trained": f"topk_trained-{profile.topk_final_keep}", "ts_dtp_hard": "ts_dtp"}
    names = {setting.name for setting in settings}
    return {STAGE_LABELS[stage]: name for stage, name in as_trained.items() if name in names}


@torch.inference_mode()
def measure_speed(settings: list[Setting], texts: list[str], profile: Profile) -> dict[str, tuple[float, float]]:
    """{setting: (examples per second at batch 32, milliseconds at batch 1)}, best of the rounds."""
    encoder = settings[0].classifier
    timed = texts[:32 * profile.bench_speed_batches]
    encoded = {}   # {max_length: (batches, singles)}: each setting reads its texts at its own length
    for length in {_length(setting, profile) for setting in settings}:
        encoded[length] = ([encoder.encode(timed[i:i + 32], length) for i in range(0, len(timed), 32)],
                           [encoder.encode([text], length) for text in texts[:profile.bench_latency_examples]])

    def runner(setting: Setting) -> Callable:
        batches, singles = encoded[_length(setting, profile)]

        def run_batch(item: tuple[str, int]) -> None:
            kind, number = item
            encoding = (batches if kind == "batch" else singles)[number]
            setting.classifier.method = setting.method   # settings may share a classifier
            setting.classifier(encoding.input_ids, encoding.attention_mask)
        return run_batch

    for setting in settings:
        setting.classifier.eval()
    batches, singles = next(iter(encoded.values()))
    return time_side_by_side({s.name: runner(s) for s in settings}, [("batch", i) for i in range(len(batches))],
                             [("single", i) for i in range(len(singles))], profile.bench_rounds, len(timed))


def _length(setting: Setting, profile: Profile) -> int:
    return setting.max_length or profile.max_length


def run(dataset: str, profile: Profile, training_run: str | None = None, db: str | Path | None = None,
        data_dir: str | None = None, artifacts: str | None = None) -> pd.DataFrame:
    """Sweep the settings for a trained run's models and store the rows; returns them."""
    folder = models_dir(artifacts) / (training_run or f"{dataset}-{profile.name}")
    models = {stage: (load_text_classifier(folder / stage), str((folder / stage).resolve()))
              for stage in STAGE_LABELS if has_method(folder / stage)}
    if "baseline" not in models:
        raise FileNotFoundError(f"No trained baseline in {folder}: run pipelines.train first.")
    settings = sweep(models, profile)
    test = load_dataset(dataset, "test", data_dir, limit=profile.trace_limit, seed=profile.seed)
    rows = []
    for setting in tqdm(settings, desc="accuracy per setting"):
        setting.classifier.method = setting.method
        evaluation = evaluate(setting.classifier, test.texts, test.labels, _length(setting, profile))
        config = setting.method.config()
        rows.append({"setting": setting.name, "method": setting.method.name, "method_config": json.dumps(config),
                     "thresholds": config.get("thresholds"), "model_path": setting.model_path,
                     "n_examples": len(test), "accuracy": evaluation.metrics.accuracy,
                     "macro_f1": evaluation.metrics.macro_f1, "mean_kept": evaluation.mean_kept,
                     "keep_fraction": evaluation.keep_fraction, "flops": evaluation.mean_flops,
                     "predictions": evaluation.predictions})
    frame = speed_columns(pd.DataFrame(rows), measure_speed(settings, test.texts, profile))
    bench_id = f"{folder.name}-{datetime.now():%Y%m%d-%H%M%S}"
    sweep_row = {"bench_id": bench_id, "dataset": dataset, "profile": profile.name, "labels": test.labels,
                 "config": json.dumps({"training_run": folder.name, "max_length": profile.max_length,
                                       "eval_limit": profile.trace_limit, "rounds": profile.bench_rounds,
                                       "speed_batches": profile.bench_speed_batches,
                                       "threads": torch.get_num_threads(),
                                       "trained_settings": trained_settings(profile, settings)})}
    store.write_benchmark(sweep_row, frame, db)
    print(frame[["setting", "accuracy", "macro_f1", "flops", "throughput_b32", "latency_b1_ms", "speedup_b32"]]
          .to_string(index=False, float_format=lambda v: f"{v:.4g}"), flush=True)
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser)
    parser.add_argument("--run", help="training run under artifacts/models (default <dataset>-<profile>)")
    parser.add_argument("--eval-limit", type=int, help="override the profile's number of test examples")
    args = parser.parse_args(argv)
    if args.dataset in IMAGE_DATASETS:
        profile = vision.profile_from_args(parser, args.profile, eval_limit=args.eval_limit)
        with clear_errors():
            vision.benchmark(profile, db_path(args.db, args.artifacts), args.data_dir, args.artifacts)
        return
    profile = profile_for(args.profile, args.dataset).with_overrides(trace_limit=args.eval_limit)
    with clear_errors():
        run(args.dataset, profile, args.run, db_path(args.db, args.artifacts), args.data_dir, args.artifacts)


if __name__ == "__main__":
    main()
