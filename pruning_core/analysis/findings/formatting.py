"""The findings as text: an interval ('0.123 [0.101, 0.150]'), a corrected interval with its level, the table with
each claim's parts (the CSV), and the Markdown table of docs/results.md and `lens findings`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import CORRECTION, FAMILY_ERROR, Findings


def format_interval(value: float, low: float, high: float) -> str:
    """'0.123 [0.101, 0.150]', or '–' when there is no value."""
    if np.isnan(value):
        return "–"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def format_corrected(low: float, high: float, confidence: float) -> str:
    """A corrected interval with its level: '[0.095, 0.158] at 99.62%', or '–' when there is none."""
    if np.isnan(confidence):
        return "–"
    return f"[{low:.3f}, {high:.3f}] at {100 * confidence:.4g}%"


def table_with_parts(findings: Findings) -> pd.DataFrame:
    """The table with a `parts` column: each part's value and interval ('World 0.410 [0.394, 0.426]; ...'), as
    the CSV of the page and of pipelines.findings holds it."""
    parts = findings.parts.assign(text=[f"{p.part} {format_interval(p.value, p.low, p.high)}"
                                        for p in findings.parts.itertuples(index=False)])
    joined = parts.groupby(["run_id", "key"], sort=False)["text"].agg("; ".join).rename("parts").reset_index()
    return findings.table.merge(joined, on=["run_id", "key"], how="left").fillna({"parts": ""})


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
