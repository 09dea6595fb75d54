"""Accuracy against speed for a dataset: pruning methods and settings swept side by side in one run.

    python -m pipelines.benchmark --dataset imdb --profile quick [--run imdb-quick]
    python -m pipelines.benchmark --dataset cifar10 --profile quick      # the ViT: see pipelines/vision.py

Settings, each on the same test examples (the profile's seeded sample, the one `trace` uses):
`unpruned` (the 1-epoch baseline), `control` (the unpruned model trained as long as the pruned ones),
`topk-{k}` (geometric top-k schedules applied at inference to the control), `topk_trained` (the model trained
with its top-k schedule on, as trained) and `topk_trained-{k}` (that model under its schedule's shape falling to k), `ltp-x{s}` (the LTP model with its thresholds scaled by s),
`ltp-calibrated` (the LTP model with the thresholds its training started from: what learning them bought),
`merging-r{r}-a{a}` (token merging at inference on the control, at the profile's `merge_settings`),
`merge_trained` (the model trained with merging, as trained) and `merge_trained-r{r}-a{a}`,
`ts_dtp` and `ts_dtp+{d}` (its offsets moved by d standard deviations: fewer tokens); the models that exist are
swept. `ltp-x0` is LTP's weights with nothing pruned: it separates what LTP's training costs from what its
pruning costs. With the profile's `short_length`, `control-{n}` is the
control reading only the first n tokens: what reading the whole text costs and buys. A top-k schedule
keeps, by CLS attention, a share of the input falling geometrically from layer 0 to k at the last layer.
For each: accuracy and macro-F1, every example's prediction and id (for paired comparisons), mean tokens
alive per layer, analytic FLOPs, throughput at batch 32 and latency at batch 1; the sweep keeps the tokens
each example reads (accuracy by length).

Timing is against the strongest unpruned path: every setting, pruned or not, runs in our layer loop (whose
last layer computes only CLS's row, the one the head reads) on the same batches: 32 consecutive texts of the
length-sorted test sample, taken at evenly spaced points of that order (so almost no padding, the share is stored,
and the batches cover the sample's lengths), with a fixed thread count, after waiting for a quiet machine.
`--retime` times the settings again and keeps the latest sweep's accuracy rows (same models, same examples).
Speed-ups are against `control`. The `transformers` row is the library's own model as most users run it
(the control's weights, sdpa attention, texts in the sample's order with dynamic padding): timed for reference,
with the control's predictions (the same weights give the same logits: tests/test_text_model.py). Every setting
runs in turn within each round (machine noise hits them alike) and keeps its best time per measurement: on a
shared machine other jobs only ever add time, so the minimum is the most repeatable estimate of what the
setting itself costs.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from pruning_core.paths import METRICS_FILE, db_path, models_dir
from pruning_core.runtime import cpu_name

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from pruning_core import storage as store
from pruning_core.text.data import TextDataset, load_dataset
from transformers import AutoModelForSequenceClassification

from pruning_core.analysis.evaluation import evaluate
from pruning_core.analysis.sweeps import reference_setting
from pruning_core.analysis.flops import layer_flops, model_dims
from pruning_core.methods import NoPruning, PruningMethod, TokenMerging, TopK, has_method, shaped_keep
from pruning_core.metrics import TRANSFORMERS_SETTING
from pruning_core.text import PrunedTextClassifier, load_text_classifier

from . import vision
from .common import add_common, clear_errors, read_json, wing_of
from pruning_core.text.profiles import Profile, profile_for
from .timing import last_layer_cls_only, machine_cores, settle, speed_columns, time_side_by_side

BATCH = 32
BATCHING = (f"batches of {BATCH} consecutive texts of the length-sorted test sample, at evenly spaced points of that "
            f"order (the same batches for every setting)")


@dataclass
class Setting:
    name: str
    classifier: PrunedTextClassifier
    method: PruningMethod
    model_path: str
    max_length: int | None = None   # read the texts at this length instead of the profile's


# The model each training stage produced, and the setting that runs it as trained (the README's rows).
STAGE_LABELS = {"baseline": "baseline (1 epoch, no pruning)", "control": "unpruned, equally trained",
                "ltp_hard": "LTP", "topk_trained": "top-k, trained with pruning", "ts_dtp_hard": "TS-DTP",
                "merge_trained": "token merging, trained with merging"}


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
    for keep in profile.topk_final_keeps:
        add(f"topk-{keep}", "control", TopK.geometric(keep, layers))
    if "topk_trained" in models:   # as trained, then its schedule's shape falling to each final keep
        trained = models["topk_trained"]
        add("topk_trained", "topk_trained", trained[0].method)
        shape = read_json(Path(trained[1]) / METRICS_FILE).get("topk_shape", 1.0)
        for keep in profile.topk_final_keeps:
            add(f"topk_trained-{keep}", "topk_trained", TopK(keep_ratios=shaped_keep(keep, layers, shape)))
    for r_max, alpha in profile.merge_settings:   # merging at inference, on the control and on the merged model
        add(f"merging-r{r_max:g}-a{alpha:g}", "control", TokenMerging(r_max, alpha))
    if "merge_trained" in models:   # as trained, then at each of the profile's settings but its own
        merged = models["merge_trained"][0].method
        add("merge_trained", "merge_trained", merged)
        for r_max, alpha in profile.merge_settings:
            if (r_max, alpha) != (merged.r_max, merged.alpha):
                add(f"merge_trained-r{r_max:g}-a{alpha:g}", "merge_trained", TokenMerging(r_max, alpha))
    if "ltp_hard" in models:
        learned = models["ltp_hard"][0].method
        for scale in profile.ltp_threshold_scales:
            add(f"ltp-x{scale:g}", "ltp_hard", learned.scaled(scale))
        calibrated = calibrated_cuts(Path(models["ltp_hard"][1]).parent / "ltp_soft")
        if calibrated is not None:   # what learning the thresholds bought: the thresholds it started from
            add("ltp-calibrated", "ltp_hard", learned.with_thresholds(calibrated))
    if "ts_dtp_hard" in models:
        for shift in profile.ts_dtp_offset_shifts:
            add("ts_dtp" if shift == 0 else f"ts_dtp{shift:+g}", "ts_dtp_hard", models["ts_dtp_hard"][0].method.shifted(shift))
    return settings


def calibrated_cuts(soft_stage: Path) -> list[float] | None:
    """The cuts a soft stage started from (calibrated on validation texts), as its metrics.json recorded them."""
    metrics = soft_stage / METRICS_FILE
    return read_json(metrics).get("calibrated") if metrics.is_file() else None


def trained_settings(profile: Profile, settings: list[Setting]) -> dict[str, str]:
    """{README row label: the setting that runs that stage's model as it was trained}."""
    as_trained = {"baseline": "unpruned", "control": "control", "ltp_hard": "ltp-x1", "topk_trained": "topk_trained",
                  "ts_dtp_hard": "ts_dtp", "merge_trained": "merge_trained"}
    names = {setting.name for setting in settings}
    return {STAGE_LABELS[stage]: name for stage, name in as_trained.items() if name in names}


@dataclass
class Timing:
    speeds: dict[str, tuple[float, float]]   # {setting: (examples per second at batch 32, ms at batch 1)}
    padding_share: float                     # share of the timed batches' tokens that are padding
    cls_only: bool                           # measured: the unpruned loop's last layer computed CLS alone
    threads: int
    cpu_busy_percent: float                  # load seen just before timing


@torch.inference_mode()
def measure_speed(settings: list[Setting], texts: list[str], profile: Profile,
                  transformers_model: torch.nn.Module | None = None) -> Timing:
    """Each setting's best-of-rounds speed on the same length-sorted batches (each at its own max_length), and the
    transformers model's on the same texts in the sample's order with dynamic padding."""
    encoder = settings[0].classifier
    groups = length_sorted_batches(texts, encoder.tokenizer, profile.max_length, profile.bench_speed_batches)
    timed = [texts[i] for i in sorted(i for group in groups for i in group)]   # the sample's order, for transformers
    encoded = {}   # {max_length: (batches, singles)}: each setting reads its texts at its own length
    for length in {_length(setting, profile) for setting in settings}:
        encoded[length] = ([encoder.encode([texts[i] for i in group], length) for group in groups],
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
    runners = {s.name: runner(s) for s in settings}
    batches, singles = encoded[profile.max_length]
    if transformers_model is not None:
        runners[TRANSFORMERS_SETTING] = _transformers_runner(transformers_model, encoder, timed, singles, profile)
    padding = 1.0 - sum(float(b.attention_mask.sum()) for b in batches) / sum(b.attention_mask.numel() for b in batches)
    cls_only = last_layer_cls_only(encoder, batches[0].input_ids, batches[0].attention_mask)
    busy = settle(machine_cores(), profile.bench_quiet_wait)
    speeds = time_side_by_side(runners, [("batch", i) for i in range(len(batches))],
                               [("single", i) for i in range(len(singles))], profile.bench_rounds, len(timed))
    return Timing(speeds, padding, cls_only, torch.get_num_threads(), busy)


def length_sorted_batches(texts: list[str], tokenizer, max_length: int, count: int) -> list[list[int]]:
    """`count` batches (positions into texts) of BATCH consecutive texts of the whole sample sorted by length (tokens
    read), taken at evenly spaced points of that order: texts of almost the same length in each batch (almost no
    padding), the batches spread over the sample's lengths from short to long."""
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    last = max(len(order) - BATCH, 0)
    starts = sorted({round(number * last / max(count - 1, 1)) for number in range(count)})
    return [order[start:start + BATCH] for start in starts]


def _transformers_runner(model: torch.nn.Module, encoder: PrunedTextClassifier, texts: list[str], singles: list,
                         profile: Profile) -> Callable:
    """The library's model as most users run it: the texts in the sample's order, each batch padded to its longest."""
    model.eval()
    batches = [encoder.encode(texts[i:i + BATCH], profile.max_length) for i in range(0, len(texts), BATCH)]

    def run_batch(item: tuple[str, int]) -> None:
        kind, number = item
        encoding = (batches if kind == "batch" else singles)[number]
        model(input_ids=encoding.input_ids, attention_mask=encoding.attention_mask)
    return run_batch


def _transformers_row(control: dict, classifier: PrunedTextClassifier, lengths: list[int]) -> dict:
    """The transformers reference row: the control's weights and predictions, every row computed in every layer."""
    hidden, intermediate = model_dims(classifier.model.config)
    dense = [classifier.num_layers * layer_flops(n, n, hidden, intermediate) for n in lengths]
    return {**control, "setting": TRANSFORMERS_SETTING, "flops": sum(dense) / max(len(dense), 1),
            "method_config": json.dumps({"reference": "transformers AutoModelForSequenceClassification, sdpa"})}


def training_counts(folder: Path) -> dict[str, dict]:
    """{stage: {"first_batch", "steps", "examples"}} from each trained stage's metrics.json, in stream order: where in
    the stream of training batches it started, how many steps it took and how many examples it saw (so equal data
    can be checked)."""
    counts = {}
    for metrics_file in folder.glob(f"*/{METRICS_FILE}"):
        train = read_json(metrics_file).get("train", {})
        counts[metrics_file.parent.name] = {key: train.get(key) for key in ("first_batch", "steps", "examples")}
    return dict(sorted(counts.items(), key=lambda item: (item[1]["first_batch"] or 0, item[0])))


def _accuracy_rows(settings: list[Setting], test: TextDataset, profile: Profile) -> tuple[list[dict], list[int]]:
    """Each setting's accuracy row on the test sample, and the tokens each example reads at the profile's length."""
    rows, lengths = [], []
    for setting in tqdm(settings, desc="accuracy per setting"):
        setting.classifier.method = setting.method
        evaluation = evaluate(setting.classifier, test.texts, test.labels, _length(setting, profile))
        if _length(setting, profile) == profile.max_length:
            lengths = evaluation.lengths
        config = setting.method.config()
        rows.append({"setting": setting.name, "method": setting.method.name, "method_config": json.dumps(config),
                     "thresholds": config.get("thresholds"), "model_path": setting.model_path,
                     "n_examples": len(test), "accuracy": evaluation.metrics.accuracy,
                     "macro_f1": evaluation.metrics.macro_f1, "mean_kept": evaluation.mean_kept,
                     "keep_fraction": evaluation.keep_fraction, "flops": evaluation.mean_flops,
                     "predictions": evaluation.predictions, "example_ids": test.ids})
    return rows, lengths


ROW_COLUMNS = ["setting", "method", "method_config", "thresholds", "model_path", "n_examples", "accuracy", "macro_f1",
               "mean_kept", "keep_fraction", "flops", "predictions", "example_ids"]


def _stored_rows(dataset: str, profile: Profile, training_run: str, settings: list[Setting], ids: list[int],
                 db: str | Path | None) -> tuple[list[dict], list[int]]:
    """The accuracy rows of the training run's latest sweep; RunNotFound (one line on the command line) unless it
    holds these settings on these examples, in this order."""
    stored = store.benchmarks(dataset, profile=profile.name, db=db)
    if stored.empty or json.loads(stored["config"].iloc[0]).get("training_run") != training_run:
        raise store.RunNotFound(f"--retime needs a stored {profile.name!r} sweep of {training_run!r}; run the benchmark "
                         "without --retime first.")
    missing = {setting.name for setting in settings} - set(stored["setting"])
    if missing or any(list(ids_) != ids for ids_ in stored["example_ids"]):
        raise store.RunNotFound(f"The latest sweep of {training_run!r} (`{stored['bench_id'].iloc[0]}`) "
                         + (f"lacks the settings {sorted(missing)}" if missing else "is on other examples")
                         + "; run the benchmark without --retime.")
    wanted = {setting.name for setting in settings} | {TRANSFORMERS_SETTING}
    rows = [{column: _plain(row[column]) for column in ROW_COLUMNS} for _, row in stored.iterrows()
            if row["setting"] in wanted]
    return rows, _plain(stored["lengths"].iloc[0])


def _plain(value):
    """A stored cell as a plain Python value (lists come back from the store as arrays)."""
    return value.tolist() if isinstance(value, np.ndarray) else value


def _length(setting: Setting, profile: Profile) -> int:
    return setting.max_length or profile.max_length


def run(dataset: str, profile: Profile, training_run: str | None = None, db: str | Path | None = None,
        data_dir: str | None = None, artifacts: str | None = None, retime: bool = False) -> pd.DataFrame:
    """Sweep the settings for a trained run's models and store the rows; returns them. retime: keep the accuracy
    rows of the run's latest sweep (the same models on the same examples) and only time the settings again."""
    folder = models_dir(artifacts) / (training_run or f"{dataset}-{profile.name}")
    models = {stage: (load_text_classifier(folder / stage, device="cpu"), str((folder / stage).resolve()))   # CPU timing
              for stage in STAGE_LABELS if has_method(folder / stage)}
    if "baseline" not in models:
        raise FileNotFoundError(f"No trained baseline in {folder}: run pipelines.train first.")
    settings = sweep(models, profile)
    test = load_dataset(dataset, "test", data_dir, limit=profile.trace_limit, seed=profile.seed)
    rows, lengths = _stored_rows(dataset, profile, folder.name, settings, test.ids, db) if retime else \
        _accuracy_rows(settings, test, profile)
    transformers_model = None
    if "control" in models:
        transformers_model = AutoModelForSequenceClassification.from_pretrained(models["control"][1],
                                                                                attn_implementation="sdpa")
        if not retime:
            control = next(row for row in rows if row["setting"] == "control")
            rows.append(_transformers_row(control, models["control"][0], lengths))
    timing = measure_speed(settings, test.texts, profile, transformers_model)
    reference = reference_setting(setting.name for setting in settings)   # the one rule: control, else unpruned
    frame = speed_columns(pd.DataFrame(rows), timing.speeds, reference)
    bench_id = f"{folder.name}-{datetime.now():%Y%m%d-%H%M%S}"
    sweep_row = {"bench_id": bench_id, "dataset": dataset, "profile": profile.name, "labels": test.labels,
                 "lengths": lengths,
                 "config": json.dumps({"training_run": folder.name, "max_length": profile.max_length,
                                       "eval_limit": profile.trace_limit, "rounds": profile.bench_rounds,
                                       "speed_batches": profile.bench_speed_batches, "threads": timing.threads,
                                       "batching": BATCHING, "padding_share": timing.padding_share,
                                       "last_layer_cls_only": timing.cls_only, "reference": reference,
                                       "cpu": cpu_name(), "cpu_busy_percent": timing.cpu_busy_percent,
                                       "training": training_counts(folder),
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
    parser.add_argument("--rounds", type=int, help="override the profile's timing rounds (each setting keeps its best)")
    parser.add_argument("--retime", action="store_true",
                        help="text: keep the latest sweep's accuracy rows (same models, same examples) and only time "
                             "the settings again")
    args = parser.parse_args(argv)
    {"text": _benchmark_texts, "vision": _benchmark_images}[wing_of(args.dataset)](parser, args)


def _benchmark_texts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    profile = profile_for(args.profile, args.dataset).with_overrides(trace_limit=args.eval_limit,
                                                                     bench_rounds=args.rounds)
    with clear_errors():
        run(args.dataset, profile, args.run, db_path(args.db, args.artifacts), args.data_dir, args.artifacts,
            args.retime)


def _benchmark_images(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    profile = vision.profile_from_args(parser, args.profile, eval_limit=args.eval_limit, bench_rounds=args.rounds)
    with clear_errors():
        vision.benchmark(profile, db_path(args.db, args.artifacts), args.data_dir, args.artifacts)


if __name__ == "__main__":
    main()
