"""Check the study's findings on stored runs: each claim's statistic, 95% bootstrap interval and verdict.

    python -m pipelines.findings --run ag_news-cpu-ltp_hard-test [--run ...] [--csv findings.csv]
                                 [--resamples 2000] [--seed 0]

The claims, their statistics and rules are pruning_core/analysis/findings.py's CLAIMS (append one to check your
own). A run must have been analysed (`python -m pipelines.analyze --run RUN`); the cluster claims also need its
stored representations (`--representations-only` adds them to a run analysed before they were stored). The
table printed is the Findings page's; --csv writes every column of it, with each claim's parts.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pruning_core.analysis.findings import (RESAMPLES, Findings, check, format_interval, load_run,
                                           table_with_parts)
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


def markdown_table(table: pd.DataFrame, statistic: bool = True) -> str:
    """Findings rows (one run or several) as a markdown table: claim, statistic, value with its 95% interval,
    when it is supported, and the verdict in bold."""
    head = ["run", "claim", *(["statistic"] if statistic else []), "value [95% CI]", "supported when", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + ("---|" if statistic else "") + "---:|---|---|"]
    for row in table.itertuples(index=False):
        cells = [f"`{row.run_id}`", row.claim, *([row.statistic] if statistic else []),
                 format_interval(row.value, row.low, row.high), row.supported_when, f"**{row.verdict}**"]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


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
    print(f"95% percentile intervals over {args.resamples:,} resamples of each run's examples (seed {args.seed}).")
    if args.csv:
        table_with_parts(findings).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
