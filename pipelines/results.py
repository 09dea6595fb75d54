"""The results tables of docs/results.md and the README's headline, produced from the database (never typed by hand).

    python -m pipelines.results [--profile cpu] [--write [PATH]]

This module only formats: what a sweep's rows say (the reference row, the trained models' rows, the fastest setting
within a point, accuracy by length) comes from pruning_core.analysis.sweeps, the findings from
pruning_core.analysis.findings, and pipelines.doc_blocks rewrites the files.

Headline (README.md): one line per dataset's latest sweep: the unpruned reference's accuracy, the fastest pruned
setting within 1 point of it and LTP at its learned thresholds, each with its paired difference and its speed-up
against the sweep's speed reference, and the sweep with the CPU it was timed on (the note under the table names no
sweep, so it holds for rows kept from another machine).
Text: per dataset, the latest benchmark sweep of the profile, whose settings all ran on the same test
examples. One line per trained model (named by the sweep config's "trained_settings", else
TRAINED_SETTINGS), and LTP's weights with nothing pruned (`ltp-x0`, the cost of the training apart from
the cost of pruning): accuracy, macro-F1, the difference from the equally trained unpruned model (setting
`control`) in points with a 95% paired bootstrap interval over the per-example predictions, mean tokens
alive on entry to each layer (the last: what the classifier read), and throughput at batch 32 against the
speed-up reference (the control on the strongest unpruned path). Under the table, per dataset, the
fastest pruned setting of the sweep within 1 point of the control; how the sweep was timed, with the
transformers model as most users run it as a printed reference; TS-DTP against LTP at the same measured
speed (interpolated over LTP's threshold scales); and accuracy by text length, every model against the control.
Images: the latest CIFAR-10 sweep of the profile: the unpruned ViT, the schedule applied to it at
inference, and the ViT trained with pruning, each with accuracy and measured throughput.
Faithfulness: per dataset, each trained pruned model's stored faithfulness set (pipelines/faithfulness.py):
agreement with the same weights unpruned and the flip rate by true class, the share of tokens reaching the
classifier, and ERASER's sufficiency and comprehensiveness of those tokens, with 95% bootstrap intervals.
Findings: the study's claims checked on each analysed text run of the profile (pipelines/findings.py): the
statistic with its 95% bootstrap interval over the run's examples, when it is supported, and the verdict.
KV cache: the latest KV-cache sweep of the profile (pipelines/kv.py), rendered by pipelines/kv_results.py.
`--write` with no path replaces the blocks between `<!-- NAME:start -->` / `<!-- NAME:end -->` for NAME in
results, vision-results, faithfulness, findings and kv-results in docs/results.md, and the headline block in
README.md; `--write PATH` replaces those blocks in PATH (and its headline block, when it holds one). The database
does not travel between machines, so the writer merges per dataset (pipelines.doc_blocks): results, faithfulness
and findings are one `<!-- section: DATASET -->` section per dataset, and the headline one row per dataset; a
dataset with data in the database gets its section or row regenerated, a dataset with none keeps what its section
or row had (another machine's run). vision-results and kv-results hold one dataset each and are replaced whole. A
block with nothing in the database keeps what it had; a block missing its markers is refused before anything is
written.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_core import storage as store
from pruning_core.analysis.faithfulness import faithfulness_by_class, faithfulness_summary
from pruning_core.analysis.sweeps import (CONTROL, LTP_CALIBRATED, LTP_UNPRUNED, REFERENCE_SETTINGS,
                                          TRAINED_SETTINGS, equal_speed, fastest_within, lengths_by_model,
                                          reference_row, setting_row, short_reading, speed_row, sweep_config,
                                          table_settings, trained_settings)
from pruning_core.text.data import DATASETS
from pruning_core.metrics import (LENGTH_EDGES, TRANSFORMERS_SETTING, alive_on_entry, describe_timing, length_buckets,
                                   length_labels, points_cell, points_versus, speed_reference)
from pruning_core.paths import REPO_ROOT, db_path

from .common import IMAGE_DATASETS, clear_errors
from .doc_blocks import (END, FAITHFULNESS_END, FAITHFULNESS_START, FINDINGS_END, FINDINGS_START, HEADLINE_BLOCKS,
                         HEADLINE_END, HEADLINE_START, README, RESULT_BLOCKS, RESULTS_DOC, START, VISION_END,
                         VISION_START, join_sections, ordered, rewrite_block, write_blocks, write_targets)
from .findings import markdown_table, run_findings
from .kv_results import kv_block

# The trained pruned models pipelines/faithfulness.py measures, named by stage as pipelines/benchmark.py's
# STAGE_LABELS names them (not imported from there: it loads torch, which this table does not need).
STAGE_MODELS = {"ltp_hard": "LTP", "topk_trained": "top-k, trained with pruning", "ts_dtp_hard": "TS-DTP"}
VISION_MODELS = {"unpruned": "unpruned ViT", "inference": "unpruned ViT, pruned at inference",
                 "merging": "unpruned ViT, merged at inference", "pruned": "ViT trained with pruning",
                 "distilled": "ViT trained with pruning, distilled", "merged": "ViT trained with merging"}
KEPT_HEADER = "mean tokens alive (input → on entry to layer 2..L; the last is what the classifier read)"
SPEEDUP_HEADER = "speed-up (batch 32, vs the strongest unpruned path)"
# Names this module held before the sweep analysis moved to pruning_core.analysis.sweeps and the writer to
# pipelines.doc_blocks, for the callers that import them from here.
__all__ = ["END", "FAITHFULNESS_END", "FAITHFULNESS_START", "FINDINGS_END", "FINDINGS_START", "HEADLINE_BLOCKS",
           "HEADLINE_END", "HEADLINE_START", "LTP_CALIBRATED", "LTP_UNPRUNED", "README", "RESULT_BLOCKS",
           "RESULTS_DOC", "START", "TRAINED_SETTINGS", "VISION_END", "VISION_START", "equal_speed_note",
           "faithfulness_table", "fastest_within", "fastest_within_control_note", "fastest_within_note",
           "findings_block", "headline_table", "length_note", "length_table", "model_rows", "results_table",
           "rewrite_block", "table_settings", "timing_note", "trained_settings", "training_note", "vision_table",
           "write_blocks", "write_targets"]


def _alive(row: pd.Series) -> str:
    """'258 → 198 → ... → 41': mean tokens alive on entry to each layer; the last is what the classifier read."""
    return " → ".join(f"{v:.0f}" for v in alive_on_entry(row["mean_kept"], row["keep_fraction"]))


def results_sections(db: str | Path | None = None, profile: str = "cpu") -> dict[str, str]:
    """{dataset: its section of the results block} for each text dataset with a sweep of the profile."""
    return {dataset: results_section(sweep) for dataset in DATASETS
            if not (sweep := store.benchmarks(dataset, profile=profile, db=db)).empty}


def results_section(sweep: pd.DataFrame) -> str:
    """One dataset's part of the results block: its heading, a markdown table of its trained models from the sweep,
    the notes under it (fastest within 1 point, timing, training, length and equal speed) and accuracy by length."""
    lines = ["| dataset | model | test examples | accuracy | macro-F1 | vs equally trained unpruned (points, 95% CI) "
             f"| {KEPT_HEADER} | {SPEEDUP_HEADER} |",
             "|---|---|---:|---:|---:|---:|---|---:|", *model_rows(sweep)]
    paragraphs = [note for make in (fastest_within_control_note, timing_note, training_note)
                  if (note := make(sweep)) is not None]
    notes = [note for make in (length_note, equal_speed_note) if (note := make(sweep)) is not None]
    return "\n\n".join([section_heading(sweep["dataset"].iloc[0]), "\n".join(lines), *paragraphs,
                        *(["\n".join(notes)] if notes else []), length_table(sweep)])


def results_table(db: str | Path | None = None, profile: str = "cpu") -> str:
    """The results block: each text dataset's section (results_sections), or a line saying what to run."""
    return join_sections(results_sections(db, profile)) or (
        f"_No `{profile}` text benchmark yet: run `python -m pipelines.demo --profile {profile}` "
        f"(train, trace and benchmark)._")


def section_heading(dataset: str) -> str:
    """The bold line that opens a dataset's section of a block."""
    return f"**{dataset}**"


def _strongest_unpruned_path(sweep: pd.DataFrame) -> pd.Series | None:
    """The text table's speed-ups are against the sweep's named speed reference alone (the strongest unpruned path),
    never the fallback the headline and the pages take (sweeps.speed_row): without it the column stays blank."""
    return setting_row(sweep, speed_reference(sweep_config(sweep)))


def model_rows(sweep: pd.DataFrame) -> list[str]:
    """One table line per model of the sweep (table_settings), compared with its control when it has one."""
    by_setting, control = sweep.set_index("setting", drop=False), setting_row(sweep, CONTROL)
    reference = _strongest_unpruned_path(sweep)
    lines = []
    for model, setting in table_settings(sweep).items():
        row = by_setting.loc[setting]
        versus = points_cell(row, control) if control is not None and setting != CONTROL else ""
        speedup = f"{row['throughput_b32'] / reference['throughput_b32']:.2f}×" if reference is not None else ""
        lines.append(f"| {row['dataset']} | {model} | {int(row['n_examples']):,} | {row['accuracy']:.4f} | "
                     f"{row['macro_f1']:.4f} | {versus} | {_alive(row)} | {speedup} |")
    return lines


def timing_note(sweep: pd.DataFrame) -> str:
    """How the sweep was timed and what its speed-ups are against, with the transformers model as most users run
    it as a printed reference (its speed only: same weights as the control, so same predictions)."""
    note = f"{sweep['dataset'].iloc[0]}: {describe_timing(sweep_config(sweep))}"
    transformers, reference = setting_row(sweep, TRANSFORMERS_SETTING), _strongest_unpruned_path(sweep)
    if transformers is None or reference is None:
        return note
    ratio = transformers["throughput_b32"] / reference["throughput_b32"]
    than = f"{1 / ratio:.2f}× slower" if ratio < 1 else f"{ratio:.2f}× faster"
    return note + (f" For reference, the transformers model as most users run it (dynamic padding, batches in "
                   f"arbitrary order, every row of every layer): {transformers['throughput_b32']:.1f} examples/s "
                   f"at batch 32, {than} than `{reference['setting']}` "
                   f"({reference['throughput_b32']:.1f} examples/s).")


def training_note(sweep: pd.DataFrame) -> str | None:
    """Where each trained model's batches lay in the seeded stream of training batches, from the sweep config (None
    for sweeps that did not record it): the control sees the same examples, as often, as each pruned model."""
    stages = sweep_config(sweep).get("training")
    if not stages or any(None in counts.values() for counts in stages.values()):
        return None

    def span(stage: str) -> str:
        counts = stages[stage]
        return (f"batches {counts['first_batch']}–{counts['first_batch'] + counts['steps'] - 1} "
                f"({counts['examples']:,} examples)")

    parts = [f"{stage} {span(stage)}" for stage in stages]
    return (f"{sweep['dataset'].iloc[0]}, training data: one seeded stream of training batches; "
            + "; ".join(parts) + ". A soft and a hard stage together see the batches the control sees.")


def length_table(sweep: pd.DataFrame) -> str:
    """Accuracy by length bucket (tokens read) for every model of the table, the control's paired difference with
    its 95% CI beside the others; a line saying why not for sweeps stored without predictions or lengths."""
    dataset, control = sweep["dataset"].iloc[0], setting_row(sweep, CONTROL)
    buckets = lengths_by_model(sweep)
    if buckets is None:
        return (f"{dataset}: accuracy by length needs every example's prediction and length, which the sweep "
                f"`{sweep['bench_id'].iloc[0]}` did not store; rerun the benchmark.")
    counts = np.bincount(length_buckets(sweep["lengths"].iloc[0]), minlength=len(LENGTH_EDGES) + 1)
    versus = (", in brackets the paired difference from the equally trained unpruned model (points, 95% CI)"
              if control is not None else "")
    lines = [f"{dataset}, accuracy by text length (tokens read){versus}:", "",
             "| model | " + " | ".join(f"{label} (n = {count:,})"
                                       for label, count in zip(length_labels(), counts)) + " |",
             "|---|" + "---:|" * len(counts)]
    lines += [f"| {model} | " + " | ".join(bucket.cell() for bucket in found) + " |"
              for model, found in buckets.items()]
    return "\n".join(lines)


def fastest_within_control_note(sweep: pd.DataFrame, points: float = 1.0) -> str:
    """The fastest pruned setting of the sweep whose accuracy is within `points` of the control's."""
    dataset, control = sweep["dataset"].iloc[0], setting_row(sweep, CONTROL)
    if control is None:
        return (f"{dataset}: the latest sweep (`{sweep['bench_id'].iloc[0]}`) has no equally trained unpruned "
                f"model (setting `control`) to compare with; rerun the benchmark.")
    reference = (f"{points:g} point of the equally trained unpruned model ({control['accuracy']:.4f}, "
                 f"n = {int(control['n_examples']):,})")
    best = fastest_within(sweep, control, points)
    if best is None:
        return f"{dataset}: no pruned setting stays within {reference}."
    return (f"{dataset}: fastest within {reference}: {best['setting']}, {best['accuracy']:.4f} "
            f"({_points(best, control)}) at {best['throughput_b32'] / control['throughput_b32']:.2f}× "
            f"its throughput.")


def _points(row: pd.Series, reference: pd.Series) -> str:
    """'-0.6 points, 95% CI [-1.1, -0.2]' (the interval where predictions were stored)."""
    difference, interval = points_versus(row, reference)
    return f"{difference:+.1f} points" + (f", 95% CI [{interval[0]:.1f}, {interval[1]:.1f}]" if interval else "")


def length_note(sweep: pd.DataFrame) -> str | None:
    """What reading the whole text costs and buys: the control at the profile's length against the control
    reading only its first n tokens (`control-{n}`), and the fastest pruned setting against that."""
    short, control = short_reading(sweep), setting_row(sweep, CONTROL)
    if short is None or control is None:
        return None
    length = short["setting"].split("-")[1]
    note = (f"- {control['dataset']}, the whole text against its first {length} tokens: the equally trained "
            f"unpruned model reading only {length} tokens scores {short['accuracy']:.4f} "
            f"({_points(short, control)} against reading the whole text) at "
            f"{short['throughput_b32'] / control['throughput_b32']:.2f}× its throughput")
    best = fastest_within(sweep, control)
    if best is None:
        return note + "."
    return note + (f"; {best['setting']}, reading the whole text with pruning, scores {_points(best, short)} "
                   f"against it at {best['throughput_b32'] / short['throughput_b32']:.2f}× its throughput.")


def equal_speed_note(sweep: pd.DataFrame) -> str | None:
    """TS-DTP against LTP at the same measured speed-up, LTP's accuracy interpolated over its threshold scales
    (the `ltp-x*` settings), with the paired CI against LTP's nearest setting when the sweep has predictions."""
    found = equal_speed(sweep)
    if found is None:
        return None
    row, nearest, difference, interval = found.ts_dtp, found.nearest, found.difference, found.interval
    speed = row["speedup_b32"]
    ci = f", 95% CI [{interval[0]:.1f}, {interval[1]:.1f}]" if interval else ""
    head = (f"- {row['dataset']}, {int(row['n_examples']):,} test examples: TS-DTP {row['accuracy']:.4f} "
            f"at {speed:.2f}×; ")
    if found.interpolated is None:
        low, high = found.ltp["speedup_b32"].iloc[0], found.ltp["speedup_b32"].iloc[-1]
        return head + (f"LTP's threshold sweep spans {low:.2f}–{high:.2f}×; its nearest setting, {nearest['setting']} "
                       f"at {nearest['speedup_b32']:.2f}×, scores {nearest['accuracy']:.4f} "
                       f"({difference:+.1f} points for TS-DTP{ci}).")
    paired = (f"; against LTP's nearest setting, {nearest['setting']} at {nearest['speedup_b32']:.2f}×, "
              f"{difference:+.1f} points{ci}" if interval else "")
    return head + (f"LTP at the same speed-up (interpolated over its threshold sweep) {found.interpolated:.4f}, "
                   f"a difference of {100 * (row['accuracy'] - found.interpolated):+.1f} points{paired}.")


def vision_table(db: str | Path | None = None, profile: str = "cpu") -> str:
    """A markdown table of the latest CIFAR-10 sweep of the profile, or a line saying what to run."""
    rows = store.benchmarks("cifar10", profile=profile, db=db)
    if rows.empty or not (rows["setting"] == "unpruned").any():
        return (f"_No `{profile}` CIFAR-10 benchmark yet: run "
                f"`python -m pipelines.demo --datasets cifar10 --profile {profile}`._")
    unpruned = rows[rows["setting"] == "unpruned"].iloc[0]
    groups = rows["setting"].str.split("-").str[0]
    order = groups.map({group: number for number, group in enumerate(VISION_MODELS)}).fillna(len(VISION_MODELS))
    rows = rows.assign(group=groups, order=order).sort_values(["order", "flops"], ascending=[True, False])
    lines = [f"{len(rows)} settings on {int(rows['n_examples'].iloc[0]):,} test images, timed side by side "
             f"(sweep `{rows['bench_id'].iloc[0]}`).{_machines(rows['config'].iloc[0])}", "",
             "| setting | model | mean tokens alive, a merged group counting once (input → on entry to layer 2..L; "
             "the last is what the classifier read) | accuracy | vs unpruned (points, 95% CI) | images/s (batch 32) "
             "| speed-up |",
             "|---|---|---|---:|---:|---:|---:|"]
    for _, row in rows.iterrows():
        versus = "" if row["setting"] == "unpruned" else points_cell(row, unpruned)
        lines.append(f"| {row['setting']} | {VISION_MODELS.get(row['group'], row['group'])} | "
                     f"{_alive(row)} | {row['accuracy']:.4f} | {versus} | "
                     f"{row['throughput_b32']:.0f} | {row['speedup_b32']:.2f}× |")
    return "\n".join(lines + ["", fastest_within_note(rows, unpruned)])


def _machines(config: str | None) -> str:
    """' Trained on ... in N minutes (...); timed on ....' from a vision sweep's config ('' for older sweeps)."""
    config = json.loads(config) if isinstance(config, str) and config else {}
    if not config.get("cpu"):
        return ""
    plan = config.get("plan") or {}
    budget = (f" (plan {plan['planned_minutes']:g} minutes with the evaluation, for a {plan['budget_minutes']:g}-minute "
              "budget)") if plan.get("planned_minutes") else ""
    return (f" Trained on {config['cpu']} in {config['precision']}, {config['train_seconds'] / 60:.1f} minutes"
            f"{budget}; timed on {config.get('timed_on', 'the same machine')}.")


def fastest_within_note(rows: pd.DataFrame, unpruned: pd.Series, points: float = 1.0) -> str:
    """The fastest pruned setting that loses at most `points` of accuracy against the unpruned model."""
    best = fastest_within(rows, unpruned, points)
    if best is None:
        return (f"No pruned setting stays within {points:g} point of the unpruned model's accuracy "
                f"({unpruned['accuracy']:.4f}).")
    return (f"Fastest within {points:g} point of the unpruned model ({unpruned['accuracy']:.4f}): "
            f"`{best['setting']}`, {best['accuracy']:.4f} ({_points(best, unpruned)}) at "
            f"{best['speedup_b32']:.2f}× the unpruned throughput.")


def headline_table(db: str | Path | None = None, profile: str = "cpu", points: float = 1.0) -> str:
    """The README's one results table: per dataset (text, then images), its latest sweep's unpruned reference, the
    fastest pruned setting within `points` of it, LTP at its learned thresholds and the sweep with the CPU it was
    timed on; then what the figures are. The writer merges it by row (the first cell, the dataset), so each row
    carries everything particular to its sweep and the note under the table none of it."""
    sweeps = [sweep for dataset in (*DATASETS, *IMAGE_DATASETS)
              if not (sweep := store.benchmarks(dataset, profile=profile, db=db)).empty]
    if not sweeps:
        return f"_No `{profile}` benchmark yet: run `python -m pipelines.demo --profile {profile}`._"
    lines = [f"| dataset | test examples | unpruned reference: accuracy | fastest pruned setting within {points:g} "
             "point | its accuracy (points, 95% CI) | its speed-up | LTP: accuracy (points, 95% CI) | "
             "LTP's speed-up | sweep, timed on |",
             "|---|---:|---|---|---:|---:|---:|---:|---|"]
    lines += [headline_row(sweep, points) for sweep in sweeps]
    return "\n".join(lines + ["", headline_note(profile)])


def headline_row(sweep: pd.DataFrame, points: float = 1.0) -> str:
    """One headline line: the reference's accuracy, then the fastest pruned setting within `points` of it and LTP's
    trained setting, each with its paired difference in points and its throughput against the speed reference; last
    the sweep (sweep_cell)."""
    dataset, examples = sweep["dataset"].iloc[0], f"{int(sweep['n_examples'].iloc[0]):,}"
    reference = reference_row(sweep)
    if reference is None:
        return f"| {dataset} | {examples} | no unpruned setting |  |  |  |  |  | {sweep_cell(sweep)} |"
    speed = speed_row(sweep)

    def measured(row: pd.Series | None) -> list[str]:
        if row is None:
            return ["", ""]
        return [f"{row['accuracy']:.4f} ({points_cell(row, reference)})",
                f"{row['throughput_b32'] / speed['throughput_b32']:.2f}×"]

    best = fastest_within(sweep, reference, points)
    ltp = trained_settings(sweep).get("LTP")
    cells = [dataset, examples, f"`{reference['setting']}` {reference['accuracy']:.4f}",
             "none" if best is None else f"`{best['setting']}`", *measured(best),
             *(measured(setting_row(sweep, ltp)) if ltp else ["", ""]), sweep_cell(sweep)]
    return "| " + " | ".join(cells) + " |"


def sweep_cell(sweep: pd.DataFrame) -> str:
    """'`imdb-cpu-...`, CPU name': the headline row's sweep and the CPU it was timed on (an image sweep's `timed_on`,
    else the sweep's `cpu`), with a warning for a sweep timed before every model's last layer computed only CLS's
    row (its speed-ups flatter pruning)."""
    config = sweep_config(sweep)
    machine = config.get("timed_on") or config.get("cpu")
    cell = f"`{sweep['bench_id'].iloc[0]}`" + (f", {machine}" if machine else "")
    if not config.get("last_layer_cls_only"):
        cell += "; timed before every model's last layer computed only CLS's row, so its speed-ups flatter pruning"
    return cell


def headline_note(profile: str) -> str:
    """What the headline's figures are and what its speed-ups are against; nothing particular to one sweep (the rows
    say that), so it holds whichever rows the writer regenerated or kept."""
    meanings = "; ".join(f"`{name}`: {meaning}" for name, meaning in REFERENCE_SETTINGS.items())
    return (f"Each row: its dataset's latest `{profile}` benchmark sweep (last column, with the CPU it was timed on), "
            "every setting on the same test examples. Points are the paired difference from the unpruned reference "
            f"({meanings}) with a 95% bootstrap interval; the fastest setting is chosen over the whole sweep "
            "(schedules at inference, threshold scales, trained models). Speed-up is throughput at batch 32 against "
            "that unpruned model, timed side by side on the same batches through our layer loop, whose last layer "
            "computes only CLS's row whether pruned or not (the strongest unpruned path, not the transformers model "
            "as most users run it).")


def _interval(mean: float, low: float, high: float, scale: float = 1.0, digits: int = 3) -> str:
    return f"{scale * mean:.{digits}f} [{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def faithfulness_sections(db: str | Path | None = None, profile: str = "cpu") -> dict[str, str]:
    """{dataset: its section of the faithfulness block} for each dataset with stored faithfulness sets of the
    profile: per trained model, the test examples, agreement with the unpruned model (95% bootstrap CI), the flip
    rate overall and by true class, the share of tokens reaching the classifier, and mean sufficiency and
    comprehensiveness (95% CI)."""
    summary = faithfulness_summary(profile=profile, db=db)
    if summary.empty:
        return {}
    flips = faithfulness_by_class(profile=profile, db=db)
    by_dataset = {dataset: rows.sort_values("stage") for dataset, rows in summary.groupby("dataset")}
    return {dataset: faithfulness_section(dataset, rows, flips) for dataset, rows in ordered(by_dataset).items()}


def faithfulness_section(dataset: str, summary: pd.DataFrame, flips: pd.DataFrame) -> str:
    """One dataset's heading and markdown table of its faithfulness sets (`summary`'s rows, in order)."""
    lines = [section_heading(dataset), "",
             "| dataset | model | test examples | agrees with unpruned (%, 95% CI) | flip rate (by true class) "
             "| tokens kept | sufficiency (95% CI) | comprehensiveness (95% CI) |",
             "|---|---|---:|---:|---|---:|---:|---:|"]
    for row in summary.itertuples(index=False):
        per_class = flips[flips["faith_id"] == row.faith_id]
        by_class = ", ".join(f"{c.class_name} {100 * c.flip_rate:.1f}%" for c in per_class.itertuples(index=False))
        lines.append(f"| {row.dataset} | {STAGE_MODELS.get(row.stage, row.stage)} | {int(row.n_examples):,} | "
                     f"{_interval(row.agreement, row.agreement_low, row.agreement_high, 100, 1)} | "
                     f"{100 * row.flip_rate:.1f}% ({by_class}) | {100 * row.kept_share:.0f}% | "
                     f"{_interval(row.sufficiency, row.sufficiency_low, row.sufficiency_high)} | "
                     f"{_interval(row.comprehensiveness, row.comprehensiveness_low, row.comprehensiveness_high)} |")
    return "\n".join(lines)


def faithfulness_table(db: str | Path | None = None, profile: str = "cpu") -> str:
    """The faithfulness block: each dataset's section (faithfulness_sections), or a line saying what to run."""
    return join_sections(faithfulness_sections(db, profile)) or (
        f"_No `{profile}` faithfulness figures yet: run `python -m pipelines.faithfulness --dataset imdb "
        f"--run imdb-{profile}` (and the same for ag_news)._")


def findings_sections(db: str | Path | None = None, profile: str = "cpu") -> dict[str, str]:
    """{dataset: its section of the findings block}: the study's claims checked on each analysed text run of the
    profile, one markdown table per dataset and the line under it that names the multiple-comparison correction
    (pipelines.findings.markdown_table); each run's claims are corrected and resampled on their own, so a dataset's
    verdicts do not depend on the other's."""
    runs = store.runs(db)
    chosen = runs[runs["analysed"].astype(bool) & (runs["profile"] == profile) & runs["dataset"].isin(list(DATASETS))]
    sections = {}
    for dataset in DATASETS:
        run_ids = sorted(chosen.loc[chosen["dataset"] == dataset, "run_id"])
        if run_ids:
            sections[dataset] = f"{section_heading(dataset)}\n\n{markdown_table(run_findings(run_ids, db).table)}"
    return sections


def findings_block(db: str | Path | None = None, profile: str = "cpu") -> str:
    """The findings block: each dataset's section (findings_sections), or a line saying what to run."""
    return join_sections(findings_sections(db, profile)) or (
        f"_No analysed `{profile}` text run yet: run `python -m pipelines.demo --profile {profile}` "
        f"(or pipelines.analyze on a traced run)._")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="DuckDB file (default artifacts/lens.duckdb)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--profile", default="cpu", help="which profile's runs (default cpu)")
    parser.add_argument("--write", nargs="?", const="", metavar="PATH",
                        help="rewrite the generated blocks: with no PATH, docs/results.md and README.md's headline; "
                             "with PATH, the results blocks of that file (and its headline block, if any)")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    with clear_errors():
        database = db_path(args.db, args.artifacts)
        tables = {"headline": headline_table(database, args.profile),
                  "results": results_table(database, args.profile),
                  "vision-results": vision_table(database, args.profile),
                  "faithfulness": faithfulness_table(database, args.profile),
                  "findings": findings_block(database, args.profile),
                  "kv-results": kv_block(database, args.profile)}
    print(*tables.values(), sep="\n\n")
    if args.write is not None:
        for written in write_blocks(write_targets(args.write, REPO_ROOT), tables):
            print(f"wrote {written}")


if __name__ == "__main__":
    main()
