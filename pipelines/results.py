"""The README's results table, produced from the database (never typed by hand).

    python -m pipelines.results [--profile cpu] [--write README.md]

Per dataset, the baseline and LTP runs traced on the test split (the latest of the profile), with
accuracy, macro-F1 and mean tokens kept per layer from the trace, and the measured speed-up (throughput
at batch 32 against the unpruned baseline) from the latest benchmark sweep of that profile.
`--write` replaces the block between `<!-- results:start -->` and `<!-- results:end -->`.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from pruning_core import store
from pruning_core.data import DATASETS

from .common import clear_errors, db_path

START, END = "<!-- results:start -->", "<!-- results:end -->"
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
    return "\n".join(lines)


def rewrite_block(readme: Path, table: str) -> None:
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {START} ... {END} block to rewrite.")
    readme.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", text))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="DuckDB file (default artifacts/lens.duckdb)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--profile", default="cpu", help="which profile's runs (default cpu)")
    parser.add_argument("--write", metavar="README", help="rewrite the results block of this file")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    with clear_errors():
        table = results_table(db_path(args.db, args.artifacts), args.profile)
    print(table)
    if args.write:
        rewrite_block(Path(args.write), table)


if __name__ == "__main__":
    main()
