"""The Findings page's service: the study's claims checked on stored runs (pruning_core.analysis.findings), cached
per database version, and the frames the page shows. No widgets here (findings_ui draws them)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pruning_core.analysis.findings import (RESAMPLES, VERDICTS, Findings, check, format_interval, load_run,
                                           table_with_parts)

from . import reads


@st.cache_data(ttl=reads.COMPUTED_TTL_SECONDS, show_spinner="Checking the claims on the stored trace…", max_entries=32)
def _checked(run_id: str, db: str, version: float, resamples: int, seed: int) -> Findings:
    return check(load_run(run_id, db), resamples=resamples, seed=seed)


def checked(run_id: str, resamples: int = RESAMPLES, seed: int = 0) -> Findings:
    """Every claim that applies to the run, checked once per database version; reads.Unavailable when the run
    cannot be read (not analysed, busy store, unreadable file)."""
    db, version = reads.db_version()
    with reads.store_notices():
        return _checked(run_id, db, version, resamples, seed)


def summary(table: pd.DataFrame) -> str:
    """'Of 15 claims: 3 supported, 9 not supported, 3 inconclusive.' (verdicts in a fixed order)."""
    counts = table["verdict"].value_counts()
    said = ", ".join(f"{counts[verdict]} {verdict}" for verdict in VERDICTS if counts.get(verdict, 0))
    return f"Of {len(table)} claims: {said}." if len(table) else "No claim applies to this run's dataset."


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, as the page's table shows it."""
    return pd.DataFrame({
        "claim": table["claim"].to_numpy(),
        "value [95% CI]": [format_interval(r.value, r.low, r.high) for r in table.itertuples(index=False)],
        "verdict": table["verdict"].to_numpy(),
        "supported when": table["supported_when"].to_numpy(),
        "statistic": table["statistic"].to_numpy(),
        "note": table["note"].to_numpy(),
    })


def runs_matrix(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Claims (rows) by run (columns): each cell the verdict and the value with its interval."""
    rows = pd.concat(tables, ignore_index=True)
    cells = rows.assign(cell=[f"{r.verdict} · {format_interval(r.value, r.low, r.high)}"
                              for r in rows.itertuples(index=False)])
    order = list(dict.fromkeys(rows["claim"]))
    matrix = cells.pivot(index="claim", columns="run_id", values="cell").reindex(order)
    return matrix[list(dict.fromkeys(rows["run_id"]))].reset_index()


def csv_bytes(findings: Findings) -> bytes:
    """The table with every claim's parts, as pipelines.findings --csv writes it."""
    return table_with_parts(findings).to_csv(index=False).encode("utf-8")
