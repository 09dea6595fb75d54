"""Check the study's findings on stored runs: each claim's statistic, raw 95% and corrected bootstrap intervals and
verdict.

    python -m pipelines.findings --run ag_news-cpu-ltp_hard-test [--run ...] [--csv findings.csv]
                                 [--claims MODULE] [--resamples 2000] [--seed 0]

The claims, their statistics and rules are the study's (pruning_core/analysis/findings/claims.py) and any registered
with `register_claim` (`--claims MODULE` imports a module of yours that registers some). A run must have been
analysed (`python -m pipelines.analyze --run RUN`); the cluster claims also need its stored representations
(`--representations-only` adds them to a run analysed before they were stored). The table printed is the Findings
page's; --csv writes every column of it, with each claim's parts.

Verdicts come from corrected intervals: Holm–Bonferroni over the claims of each run that have data (family-wise
error 5%); each claim's interval is at the level Holm tested it at, shown beside its raw 95% interval. A word counts
as retained when the classifier read it (alive on entry to the last layer).
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pandas as pd

from pruning_core.analysis.findings import (RESAMPLES, Findings, evaluate_claims, load_run, markdown_table,
                                           table_with_parts)
from pruning_core.paths import db_path

from .common import clear_errors


def run_findings(run_ids: list[str], db: str | Path | None = None, resamples: int = RESAMPLES,
                 seed: int = 0) -> Findings:
    """Every applicable claim (the study's and the registered ones) checked on each run, one table (and one parts
    frame) for all of them."""
    checked = [evaluate_claims(load_run(run_id, db), resamples=resamples, seed=seed) for run_id in run_ids]
    return Findings(pd.concat([f.table for f in checked], ignore_index=True),
                    pd.concat([f.parts for f in checked], ignore_index=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="an analysed run id (repeat for several)")
    parser.add_argument("--claims", action="append", default=[], metavar="MODULE",
                        help="import this module first, so the claims it registers (register_claim) are checked too "
                             "(repeat for several)")
    parser.add_argument("--csv", help="write the table (with every claim's parts) to this CSV file")
    parser.add_argument("--resamples", type=int, default=RESAMPLES, help=f"bootstrap resamples (default {RESAMPLES})")
    parser.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default 0)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--db", help="DuckDB file (default: <artifacts>/lens.duckdb)")
    args = parser.parse_args(argv)
    if args.resamples < 1:
        parser.error("--resamples must be at least 1")
    with clear_errors():
        for module in args.claims:
            importlib.import_module(module)
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
