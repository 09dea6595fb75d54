"""Baseline fine-tuning and LTP's three stages on a dataset, stage by stage, resumable.
(`--dataset cifar10` trains the ViT instead: see pipelines/vision.py.)

    python -m pipelines.train --dataset imdb --profile quick [--method ltp|ts_dtp|topk|control] [--run NAME]
    accelerate launch --multi_gpu --num_processes 2 -m pipelines.train --dataset imdb --profile cpu

Under a distributed launcher every process trains on its shard of the data (CPU processes join as
gloo ranks when there is no GPU), so N processes each run 1/N of the steps one process would (the
profile's `max_steps` and `--max-steps` count one process's steps too); only the main process evaluates
and writes. Note that `accelerate launch --cpu --num_processes N` starts N processes only through MPI
(--mpirun_hostfile); without it, it runs one.

Stages: `baseline` (fine-tune the backbone, no pruning), `ltp_soft` (from the baseline: learn the
thresholds with soft masks, starting from thresholds calibrated to the profile's keep schedule),
`ltp_hard` (binarize, then fine-tune with tokens really removed; this stage's binarize step is LTP's
stage 2). `--method ts_dtp` trains TS-DTP the same way from the same baseline, as stages `ts_dtp_soft`
and `ts_dtp_hard`; `--method topk` fine-tunes the baseline with the profile's top-k schedule switched on
(`topk_trained`), `--method merge` with token merging on (`merge_trained`), and `--method control` without
pruning (`control`): each for as many steps as a soft and a hard stage together, so every pruned model has an
unpruned control trained as long from the same start. All of them after the baseline train on the same batches:
one seeded stream of training batches, the baseline from its start, each soft stage from where the baseline
stopped and its hard stage from where the soft stage stopped, the control, the top-k and the merged model through
the soft and hard stages' batches together (`stage_plan`), so every model sees the same examples, as often.
Stage scores and LTP's threshold calibration use a seeded validation split carved from the training data
(`training_splits`); no test example is read here.
Each stage is saved (`classifier.save`) to `artifacts/models/<run>/<stage>/` together with
`metrics.json`; the folder appears only when complete,
so a re-run skips finished stages and an interrupted run resumes at the stage it was in.
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

from pruning_core.paths import METRICS_FILE, models_dir

import torch
from accelerate import PartialState
from accelerate.utils import set_seed

from pruning_core.analysis.schedules import as_records, choose_schedule
from pruning_core.text.data import TextDataset, training_splits
from pruning_core.methods import (LearnedTokenPruning, NoPruning, PruningMethod, TokenMerging, TopK,
                                  build_method, geometric_keep)
from pruning_core.analysis.evaluation import evaluate
from pruning_core.text import load_text_classifier
from pruning_core.text.training import (StepCallback, TrainConfig, calibrate, fine_tune, hard_stage,
                                   soft_stage, teacher_logits, train_baseline)
from safetensors.torch import load_file, save_file

from . import vision
from .common import add_common, clear_errors, publish_model, read_json, wing_of
from pruning_core.text.profiles import Profile, profile_for

METHODS = ("ltp", "ts_dtp", "topk", "merge", "control")
DISTILLED_KINDS = ("soft", "hard", "trained")   # stages that train with pruning (when the profile distils)
TEACHER_FILE = "teacher_logits.safetensors"     # the control's logits over the training texts, beside it


def stages_for(method: str) -> tuple[str, ...]:
    """baseline, then the method's own stages."""
    if method in ("topk", "merge"):   # a fixed schedule, trained on from the baseline
        return ("baseline", f"{method}_trained")
    if method == "control":
        return ("baseline", "control")
    return ("baseline", f"{method}_soft", f"{method}_hard")


STAGES = stages_for("ltp")


def _kind(stage: str) -> str:
    """'baseline', 'soft', 'hard', 'trained' (a fixed schedule) or 'control'."""
    return stage.rsplit("_", 1)[-1]


def stage_plan(profile: Profile, batches_per_epoch: int) -> dict[str, tuple[int, int]]:
    """{stage kind: (first batch, steps)} in the one seeded stream of training batches (one process's count).

    The baseline from the start; after it a soft stage, then its hard stage where the soft one stopped; the
    control and the top-k model through the same batches as a soft and a hard stage together."""
    def steps(epochs: float) -> int:
        count = max(1, math.ceil(epochs * batches_per_epoch))
        return min(count, profile.max_steps) if profile.max_steps else count

    baseline, soft, hard = steps(profile.baseline_epochs), steps(profile.soft_epochs), steps(profile.hard_epochs)
    return {"baseline": (0, baseline), "soft": (baseline, soft), "hard": (baseline + soft, hard),
            "trained": (baseline, soft + hard), "control": (baseline, soft + hard)}


def stage_config(profile: Profile, stage: str, batches_per_epoch: int) -> TrainConfig:
    first_batch, steps = stage_plan(profile, batches_per_epoch)[_kind(stage)]
    method_rate = profile.ts_dtp_learning_rate if stage.startswith("ts_dtp") else profile.threshold_learning_rate
    return TrainConfig(epochs=steps / batches_per_epoch, batch_size=profile.batch_size,
                       learning_rate=profile.learning_rate, method_learning_rate=method_rate,
                       max_length=profile.max_length, seed=profile.seed, steps=steps, first_batch=first_batch,
                       distillation=profile.distillation if distils(stage) else None)


def distils(stage: str) -> bool:
    """Whether a stage learns from the control's logits: every stage that trains with pruning."""
    return _kind(stage) in DISTILLED_KINDS


def _new_method(name: str, classifier, profile: Profile, texts: list[str]) -> PruningMethod:
    """The untrained method a soft stage starts from, its cuts calibrated on `texts` (validation texts): LTP's
    thresholds to keep a share falling geometrically to `ltp_init_keep`, TS-DTP's offsets to its own target."""
    layers = classifier.num_layers
    if name == "ltp":
        method = LearnedTokenPruning(layers, temperature=profile.temperature, keep_lambda=profile.keep_lambda,
                                     mode="soft")
        keep = geometric_keep(profile.ltp_init_keep, layers)
    else:
        method = build_method(name, num_layers=layers, hidden_size=classifier.model.config.hidden_size,
                              target_keep=profile.ts_dtp_target_keep, aux_lambda=profile.ts_dtp_aux_lambda,
                              mode="soft")
        keep = method.target_fractions().tolist()
    calibrate(classifier, method, texts[:profile.calibration_texts], keep, profile.max_length)
    return method


def teacher_for(run_folder: Path, train: TextDataset, profile: Profile) -> torch.Tensor:
    """(N, C) the equally trained control's logits over the training texts, computed once and kept beside it."""
    control = run_folder / "control"
    if not (control / METRICS_FILE).is_file():
        raise FileNotFoundError(f"Distillation learns from the control model, which is not trained yet ({control}): "
                                f"train it first (python -m pipelines.train --method control ...).")
    cached = control / TEACHER_FILE
    ids = torch.tensor(train.ids, dtype=torch.long)
    if cached.is_file():
        saved = load_file(str(cached))
        if torch.equal(saved["ids"], ids) and int(saved["max_length"]) == profile.max_length:
            return saved["logits"]
    logits = teacher_logits(load_text_classifier(control), train.texts, profile.max_length)
    if PartialState().is_main_process:
        partial = cached.with_suffix(".partial")
        save_file({"ids": ids, "logits": logits, "max_length": torch.tensor(profile.max_length)}, str(partial))
        partial.replace(cached)
    return logits


def _prepare(stage: str, run_folder: Path, base_model: str | None, train: TextDataset, validation: TextDataset,
             profile: Profile):
    """The classifier a stage starts from (the backbone, or the previous stage's model), and what was chosen for
    it on validation texts, for its metrics.json: a soft stage's calibrated cuts, the top-k model's schedule."""
    kind = _kind(stage)
    if stage == "baseline":
        return load_text_classifier(base_model, label_names=train.label_names), {}
    if kind == "hard":
        return load_text_classifier(run_folder / stage.replace("_hard", "_soft")), {}
    classifier = load_text_classifier(run_folder / "baseline")
    if kind == "soft":
        classifier.method = _new_method(stage.rsplit("_", 1)[0], classifier, profile, validation.texts)
        return classifier, {"calibrated": classifier.method.cuts()}
    if stage == "merge_trained":
        classifier.method = TokenMerging(profile.merge_r_max, profile.merge_alpha)
        return classifier, {}
    if kind == "trained":
        return classifier, _topk_schedule(classifier, validation, profile)
    classifier.method = NoPruning()
    return classifier, {}


def _topk_schedule(classifier, validation: TextDataset, profile: Profile) -> dict:
    """Set the classifier's top-k schedule: geometric to `topk_final_keep`, or, with `topk_flops_share`, the shape
    that classifies the validation texts best at that share of the unpruned FLOPs (the baseline's weights)."""
    layers = classifier.num_layers
    if profile.topk_flops_share is None:
        classifier.method = TopK.geometric(profile.topk_final_keep, layers)
        return {"topk_shape": 1.0}
    candidates = choose_schedule(classifier, validation.texts, validation.labels, profile.topk_flops_share,
                                 profile.topk_shapes, profile.max_length)
    classifier.method = TopK(keep_ratios=candidates[0].keep_ratios)
    return {"topk_shape": candidates[0].shape, "schedule_candidates": as_records(candidates)}


STAGE_FUNCTIONS = {"baseline": train_baseline, "soft": soft_stage, "hard": hard_stage,
                   "trained": lambda *args, **kw: fine_tune(*args, description="trained with its schedule", **kw),
                   "control": lambda *args, **kw: fine_tune(*args, description="control", **kw)}


def run(dataset: str, profile: Profile, run_name: str | None = None, base_model: str | None = None,
        data_dir: str | None = None, artifacts: str | None = None, stages: tuple[str, ...] | None = None,
        on_stage: Callable[[str, str], None] | None = None, method: str = "ltp",
        on_step: StepCallback | None = None) -> dict[str, dict]:
    """Train the stages in order, skipping those already complete. Returns each stage's metrics.

    on_stage(stage, what) says when a stage starts or is skipped; on_step(done, total) follows the
    running stage step by step (both on the main process only)."""
    # Without a GPU, processes started by a distributed launcher must join as CPU (gloo) ranks.
    state = PartialState(cpu=not torch.cuda.is_available())
    run_folder = models_dir(artifacts) / (run_name or f"{dataset}-{profile.name}")
    train, validation = training_splits(dataset, data_dir, profile.train_limit, profile.validation_limit, profile.seed)
    results = {}
    for stage in stages_for(method):
        if stages is not None and stage not in stages:
            continue
        folder = run_folder / stage
        if (folder / METRICS_FILE).is_file():
            results[stage] = read_json(folder / METRICS_FILE)
            if on_stage and state.is_main_process:
                on_stage(stage, "skipped (already complete)")
            continue
        if profile.distillation and distils(stage) and not (run_folder / "control" / METRICS_FILE).is_file():
            if on_stage and state.is_main_process:   # the teacher comes first
                on_stage("control", "training (the teacher the pruned models distil from)")
            results["control"] = _train_stage("control", run_folder, base_model, train, validation, profile, state,
                                              on_step if state.is_main_process else None)
            state.wait_for_everyone()
        if on_stage and state.is_main_process:
            on_stage(stage, "training")
        results[stage] = _train_stage(stage, run_folder, base_model, train, validation, profile, state,
                                      on_step if state.is_main_process else None)
        state.wait_for_everyone()
    return results


def _train_stage(stage: str, run_folder: Path, base_model: str | None, train: TextDataset,
                 validation: TextDataset, profile: Profile, state: PartialState,
                 on_step: StepCallback | None = None) -> dict:
    set_seed(profile.seed)  # a new classification head is initialised while loading
    classifier, chosen = _prepare(stage, run_folder, base_model, train, validation, profile)
    config = stage_config(profile, stage, math.ceil(len(train) / profile.batch_size))
    teacher = teacher_for(run_folder, train, profile) if config.distillation else None
    started = time.perf_counter()
    extra = {} if teacher is None else {"teacher_logits": teacher}
    result = STAGE_FUNCTIONS[_kind(stage)](classifier, train.texts, train.labels, config, on_step=on_step, **extra)
    seconds = time.perf_counter() - started
    if not state.is_main_process:
        return {}
    evaluation = evaluate(classifier, validation.texts, validation.labels, profile.max_length)
    method_config = classifier.method.config()
    metrics = {**evaluation.summary(), "dataset": train.name, "profile": profile.name, "stage": stage,
               "label_names": train.label_names, "method": classifier.method.name,
               "thresholds": method_config.get("thresholds"), "offsets": method_config.get("offsets"),
               **chosen, "distillation": asdict(config.distillation) if config.distillation else None,
               "n_train": len(train), "n_validation": len(validation), "evaluated_on": "validation",
               "validation_source": validation.source, "max_length": profile.max_length, "train_seconds": seconds,
               "train": result.as_dict(), "base_model": str(base_model or "packaged all-MiniLM-L6-v2"),
               "processes": state.num_processes, "device": str(classifier.device)}
    publish_model(classifier, metrics, run_folder / stage)
    print(f"{stage}: validation accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}, kept per layer "
          f"{[round(k, 1) for k in metrics['mean_kept']]} of {metrics['mean_tokens']:.1f} tokens "
          f"({seconds / 60:.1f} min)", flush=True)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser)
    parser.add_argument("--run", help="run name: the folder under artifacts/models (default <dataset>-<profile>)")
    parser.add_argument("--base-model", help="backbone folder or hub id (default: packaged all-MiniLM-L6-v2)")
    parser.add_argument("--method", choices=METHODS, default="ltp", help="the trained pruning method (default ltp)")
    parser.add_argument("--stages", help="comma-separated subset of the method's stages (default: all)")
    parser.add_argument("--train-limit", type=int, help="override the profile's number of training examples")
    parser.add_argument("--validation-limit", type=int,
                        help="override the profile's number of validation examples (carved from the training split)")
    parser.add_argument("--max-steps", type=int, help="stop each stage after this many steps (quick checks; "
                                                      "counted for one process, N processes share them)")
    parser.add_argument("--keep-lambda", type=float, help="override LTP's keep-rate weight lambda (0.01..0.2)")
    args = parser.parse_args(argv)
    {"text": _train_texts, "vision": _train_images}[wing_of(args.dataset)](parser, args)


def _train_texts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    allowed = stages_for(args.method)
    stages = tuple(s.strip() for s in (args.stages or ",".join(allowed)).split(",") if s.strip())
    unknown = set(stages) - set(allowed)
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {', '.join(allowed)}")
    profile = profile_for(args.profile, args.dataset).with_overrides(
        train_limit=args.train_limit, validation_limit=args.validation_limit, max_steps=args.max_steps, keep_lambda=args.keep_lambda)
    with clear_errors():
        run(args.dataset, profile, args.run, args.base_model, args.data_dir, args.artifacts, stages,
            on_stage=lambda stage, what: print(f"[{stage}] {what}", flush=True), method=args.method)


def _train_images(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    profile = vision.profile_from_args(parser, args.profile, train_limit=args.train_limit,
                                       validation_limit=args.validation_limit)
    if args.max_steps:
        profile = replace(profile, train=replace(profile.train, max_steps=args.max_steps))
    with clear_errors():
        vision.train(profile, args.data_dir, args.artifacts,
                     on_stage=lambda stage, what: print(f"[{stage}] {what}", flush=True))


if __name__ == "__main__":
    main()
