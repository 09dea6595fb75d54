"""The README's results tables, produced from the database (never typed by hand).

    python -m pipelines.results [--profile cpu] [--write README.md]

Text: per dataset, the baseline, LTP and TS-DTP runs traced on the test split (the latest of the
profile), with accuracy, macro-F1 and mean tokens kept per layer from the trace, and the measured
speed-up (throughput at batch 32 against the unpruned baseline) from the latest benchmark sweep.
Images: the latest CIFAR-10 sweep of the profile: the unpruned ViT, the schedule applied to it at
inference, and the ViT trained with pruning, each with accuracy and measured throughput.
`--write` replaces the blocks between `<!-- results:start -->` / `<!-- results:end -->` and
`<!-- vision-results:start -->` / `<!-- vision-results:end -->`.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_core import store
from pruning_core.data import DATASETS

from .common import clear_errors, db_path

START, END = "<!-- results:start -->", "<!-- results:end -->"
VISION_START, VISION_END = "<!-- vision-results:start -->", "<!-- vision-results:end -->"
VISION_MODELS = {"unpruned": "unpruned ViT", "inference": "unpruned ViT, pruned at inference",
                 "pruned": "ViT trained with pruning"}
STAGES = {"baseline": ("unpruned", "baseline (no pruning)"), "ltp_hard": ("ltp-x1.0", "LTP"),
          "ts_dtp_hard": ("ts_dtp", "TS-DTP")}


def _kept(values, tokens: float) -> str:
    return " → ".join(f"{v:.0f}" for v in [tokens, *values])


def results_table(db: str | Path | None = None, profile: str = "cpu") -> str:
    """A markdown table of baseline vs LTP per dataset, or a line saying what is missing."""
    runs = store.runs(db)
    runs = runs[(runs["profile"] == profile) & (runs["split"] == "test") & runs["stage"].isin(list(STAGES))]
    if runs.empty:
        return f"_No `{profile}` runs traced on a test split yet: train, trace and benchmark them first._"
    latest = runs.sort_values("created_at").groupby(["dataset", "stage"]).tail(1)
    lines = ["| dataset | model | test examples | accuracy | macro-F1 | mean tokens kept per layer (input → layer 1..L) "
             "| speed-up (batch 32) |", "|---|---|---:|---:|---:|---|---:|"]
    for dataset in [d for d in DATASETS if d in set(latest["dataset"])]:
        sweep = store.benchmarks(dataset, profile=profile, db=db)
        for stage, (setting, label) in STAGES.items():
            row = latest[(latest["dataset"] == dataset) & (latest["stage"] == stage)]
            if row.empty:
                continue
            row = row.iloc[0]
            speed = sweep.loc[sweep["setting"] == setting, "speedup_b32"]
            speedup = f"{speed.iloc[0]:.2f}×" if len(speed) else "not measured"
            metrics = store.run_metrics(row["run_id"], db)["summary"]
            tokens = store.layer_survival(row["run_id"], db=db)["tokens"].iloc[0] / row["n_examples"]
            lines.append(f"| {dataset} | {label} | {row['n_examples']:,} | {row['accuracy']:.4f} | "
                         f"{row['macro_f1']:.4f} | {_kept(metrics['mean_kept'], tokens)} | {speedup} |")
    notes = [note for dataset in DATASETS if (note := equal_speed_note(store.benchmarks(dataset, profile=profile,
                                                                                        db=db))) is not None]
    return "\n".join(lines + ([""] + notes if notes else []))


def equal_speed_note(sweep: pd.DataFrame) -> str | None:
    """TS-DTP against LTP at the same measured speed-up, LTP's accuracy interpolated over its threshold sweep."""
    ts_dtp = sweep[sweep["setting"] == "ts_dtp"]
    ltp = sweep[sweep["method"] == "ltp"].sort_values("speedup_b32")
    if ts_dtp.empty or len(ltp) < 2:
        return None
    row = ts_dtp.iloc[0]
    speed = row["speedup_b32"]
    head = (f"- {row['dataset']}, benchmark sample of {int(row['n_examples']):,}: TS-DTP {row['accuracy']:.4f} "
            f"at {speed:.2f}×; ")
    low, high = ltp["speedup_b32"].iloc[0], ltp["speedup_b32"].iloc[-1]
    if not low <= speed <= high:
        nearest = ltp.iloc[int((ltp["speedup_b32"] - speed).abs().argmin())]
        return head + (f"LTP's threshold sweep spans {low:.2f}–{high:.2f}×; its nearest setting, {nearest['setting']} "
                       f"at {nearest['speedup_b32']:.2f}×, scores {nearest['accuracy']:.4f} "
                       f"({100 * (row['accuracy'] - nearest['accuracy']):+.1f} points for TS-DTP).")
    accuracy = float(np.interp(speed, ltp["speedup_b32"], ltp["accuracy"]))
    return head + (f"LTP at the same speed-up (interpolated over its threshold sweep) {accuracy:.4f}, "
                   f"a difference of {100 * (row['accuracy'] - accuracy):+.1f} points.")


def vision_table(db: str | Path | None = None, profile: str = "cpu") -> str:
    """A markdown table of the latest CIFAR-10 sweep of the profile, or a line saying what to run."""
    rows = store.benchmarks("cifar10", profile=profile, db=db)
    if rows.empty or not (rows["setting"] == "unpruned").any():
        return (f"_No `{profile}` CIFAR-10 benchmark yet: run "
                f"`python -m pipelines.demo --datasets cifar10 --profile {profile}`._")
    unpruned = rows.loc[rows["setting"] == "unpruned", "accuracy"].iloc[0]
    groups = rows["setting"].str.split("-").str[0]
    order = groups.map({group: number for number, group in enumerate(VISION_MODELS)}).fillna(len(VISION_MODELS))
    rows = rows.assign(group=groups, order=order).sort_values(["order", "flops"], ascending=[True, False])
    lines = [f"{len(rows)} settings on {int(rows['n_examples'].iloc[0]):,} test images, timed side by side "
             f"(sweep `{rows['bench_id'].iloc[0]}`).", "",
             "| setting | model | patches kept per layer (input → layer 1..L) | accuracy | vs unpruned (points) "
             "| images/s (batch 32) | speed-up |", "|---|---|---|---:|---:|---:|---:|"]
    for row in rows.itertuples(index=False):
        tokens = row.mean_kept[0] / row.keep_fraction[0]   # keep_fraction is kept / input
        lines.append(f"| {row.setting} | {VISION_MODELS.get(row.group, row.group)} | {_kept(row.mean_kept, tokens)} | "
                     f"{row.accuracy:.4f} | {100 * (row.accuracy - unpruned):+.1f} | {row.throughput_b32:.0f} | "
                     f"{row.speedup_b32:.2f}× |")
    return "\n".join(lines + ["", fastest_within_note(rows, unpruned)])


def fastest_within_note(rows: pd.DataFrame, unpruned: float, points: float = 1.0) -> str:
    """The fastest setting that loses at most `points` of accuracy against the unpruned model."""
    close = rows[(rows["setting"] != "unpruned") & (rows["accuracy"] >= unpruned - points / 100 - 1e-9)]
    if close.empty:
        return f"No pruned setting stays within {points:g} point of the unpruned model's accuracy ({unpruned:.4f})."
    best = close.loc[close["speedup_b32"].idxmax()]
    return (f"Fastest within {points:g} point of the unpruned model ({unpruned:.4f}): `{best['setting']}`, "
            f"{best['accuracy']:.4f} ({100 * (best['accuracy'] - unpruned):+.1f} points) at "
            f"{best['speedup_b32']:.2f}× the unpruned throughput.")


def rewrite_block(readme: Path, table: str, start: str = START, end: str = END) -> None:
    text = readme.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {start} ... {end} block to rewrite.")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="DuckDB file (default artifacts/lens.duckdb)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--profile", default="cpu", help="which profile's runs (default cpu)")
    parser.add_argument("--write", metavar="README", help="rewrite the results block of this file")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    with clear_errors():
        database = db_path(args.db, args.artifacts)
        table, images = results_table(database, args.profile), vision_table(database, args.profile)
    print(table, images, sep="\n\n")
    if args.write:
        rewrite_block(Path(args.write), table)
        rewrite_block(Path(args.write), images, VISION_START, VISION_END)


if __name__ == "__main__":
    main()
