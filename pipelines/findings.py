"""Check the study's findings on stored runs: each claim's statistic, raw 95% and corrected bootstrap intervals and
verdict.

    python -m pipelines.findings --run ag_news-cpu-ltp_hard-test [--run ...] [--csv findings.csv]
                                 [--resamples 2000] [--seed 0]

The claims, their statistics and rules are pruning_core/analysis/findings.py's CLAIMS (append one to check your
own). A run must have been analysed (`python -m pipelines.analyze --run RUN`); the cluster claims also need its
stored representations (`--representations-only` adds them to a run analysed before they were stored). The
table printed is the Findings page's; --csv writes every column of it, with each claim's parts.

Verdicts come from corrected intervals: Holm–Bonferroni over the claims of each run that have data (family-wise
error 5%); each claim's interval is at the level Holm tested it at, shown beside its raw 95% interval. A word counts
as retained when the classifier read it (alive on entry to the last layer).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pruning_core.analysis.findings import (CORRECTION, FAMILY_ERROR, RESAMPLES, Findings, check, format_corrected,
                                           format_interval, load_run, table_with_parts)
from pruning_core.paths import db_path

from .common import clear_errors


def run_findings(run_ids: list[str], db: str | Path | None = None, resamples: int = RESAMPLES,
                 seed: int = 0) -> Findings:
    """Every applicable claim checked on each run, one table (and one parts frame) for all of them."""
    checked = [check(load_run(run_id, db), resamples=resamples, seed=seed) for run_id in run_ids]
    return Findings(pd.concat([f.table for f in checked], ignore_index=True),
                    pd.concat([f.parts for f in checked], ignore_index=True))


def _cell(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def correction_note(table: pd.DataFrame) -> str:
    """The sentence under a findings table that names its correction, with each run's number of claims."""
    families = table.drop_duplicates("run_id")
    named = "; ".join(f"`{row.run_id}`: {row.correction}" for row in families.itertuples(index=False))
    return (f"Verdicts from corrected intervals, {CORRECTION} at family-wise error {FAMILY_ERROR:.0%} ({named}; "
            "claims with data only): each claim's interval is at the level Holm tested it at, beside the raw 95% "
            "interval. Retained words are those the classifier read, alive on entry to the last layer.")


def markdown_table(table: pd.DataFrame, statistic: bool = True) -> str:
    """Findings rows (one run or several) as a markdown table: claim, statistic, value with its raw 95% interval,
    the corrected interval with its level, when it is supported and the verdict (the corrected interval's) in
    bold; then a line naming the correction."""
    head = ["run", "claim", *(["statistic"] if statistic else []), "value [95% CI]",
            f"corrected CI ({CORRECTION})", "supported when", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + ("---|" if statistic else "") + "---:|---:|---|---|"]
    for row in table.itertuples(index=False):
        cells = [f"`{row.run_id}`", row.claim, *([row.statistic] if statistic else []),
                 format_interval(row.value, row.low, row.high),
                 format_corrected(row.corrected_low, row.corrected_high, row.corrected_confidence),
                 row.supported_when, f"**{row.verdict}**"]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + ("\n\n" + correction_note(table) if len(table) else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="an analysed run id (repeat for several)")
    parser.add_argument("--csv", help="write the table (with every claim's parts) to this CSV file")
    parser.add_argument("--resamples", type=int, default=RESAMPLES, help=f"bootstrap resamples (default {RESAMPLES})")
    parser.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default 0)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--db", help="DuckDB file (default: <artifacts>/lens.duckdb)")
    args = parser.parse_args(argv)
    if args.resamples < 1:
        parser.error("--resamples must be at least 1")
    with clear_errors():
        findings = run_findings(args.run, db_path(args.db, args.artifacts), args.resamples, args.seed)
    print(markdown_table(findings.table))
    notes = findings.table[findings.table["note"] != ""]
    for row in notes.itertuples(index=False):
        print(f"- {row.run_id}, {row.key}: {row.note}")
    print(f"Percentile intervals over {args.resamples:,} resamples of each run's examples (seed {args.seed}), each "
          "statistic recomputed on every resample.")
    if args.csv:
        table_with_parts(findings).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
