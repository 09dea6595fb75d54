"""The Findings page's service: the study's claims checked on stored runs (pruning_core.analysis.findings), cached
per database version, and the frames the page shows. No widgets here (findings_ui draws them)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pruning_core.analysis.findings import (CORRECTION, FAMILY_ERROR, RESAMPLES, VERDICTS, Claim, Findings,
                                           default_claims, evaluate_claims, format_corrected, format_interval,
                                           load_run, table_with_parts)

from . import reads


@st.cache_data(ttl=reads.COMPUTED_TTL_SECONDS, show_spinner="Checking the claims on the stored trace…", max_entries=32)
def _checked(run_id: str, db: str, version: float, resamples: int, seed: int, keys: tuple[str, ...],
             _claims: tuple[Claim, ...]) -> Findings:
    return evaluate_claims(load_run(run_id, db), _claims, resamples, seed)   # keyed by their keys, not hashed


def checked(run_id: str, resamples: int = RESAMPLES, seed: int = 0) -> Findings:
    """Every claim that applies to the run (the study's and the registered ones), checked once per database version
    and set of claims; reads.Unavailable when the run cannot be read (not analysed, busy store, unreadable file)."""
    db, version = reads.db_version()
    claims = default_claims()
    with reads.store_notices():
        return _checked(run_id, db, version, resamples, seed, tuple(claim.key for claim in claims), claims)


def summary(table: pd.DataFrame) -> str:
    """'Of 15 claims: 3 supported, 9 not supported, 3 inconclusive.' (corrected verdicts in a fixed order), then
    the correction that gave them and how many differ from the raw 95% intervals' verdicts."""
    if not len(table):
        return "No claim applies to this run's dataset."
    counts = table["verdict"].value_counts()
    said = ", ".join(f"{counts[verdict]} {verdict}" for verdict in VERDICTS if counts.get(verdict, 0))
    changed = int((table["verdict"] != table["raw_verdict"]).sum())
    differ = "differs" if changed == 1 else "differ"
    return (f"Of {len(table)} claims: {said}. Verdicts from corrected intervals: {table['correction'].iloc[0]} "
            f"(family-wise error {FAMILY_ERROR:.0%}); {changed} of them {differ} from the raw 95% intervals' verdicts.")


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, as the page's table shows it."""
    rows = list(table.itertuples(index=False))
    return pd.DataFrame({
        "claim": table["claim"].to_numpy(),
        "value [95% CI]": [format_interval(r.value, r.low, r.high) for r in rows],
        f"corrected CI ({CORRECTION})": [format_corrected(r.corrected_low, r.corrected_high, r.corrected_confidence)
                                         for r in rows],
        "verdict": table["verdict"].to_numpy(),
        "raw verdict (95%)": table["raw_verdict"].to_numpy(),
        "p-value": table["p_value"].to_numpy(),
        "supported when": table["supported_when"].to_numpy(),
        "statistic": table["statistic"].to_numpy(),
        "note": table["note"].to_numpy(),
    })


def _matrix_cell(row) -> str:
    """'supported · 0.677 [0.641, 0.722] · corrected [0.630, 0.730] at 98.75%', or 'no data · –'."""
    said = [row.verdict, format_interval(row.value, row.low, row.high)]
    if not pd.isna(row.corrected_confidence):
        said.append("corrected " + format_corrected(row.corrected_low, row.corrected_high, row.corrected_confidence))
    return " · ".join(said)


def runs_matrix(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Claims (rows) by run (columns): each cell the verdict, the value with its raw 95% interval and, where there
    is one, the corrected interval with its level."""
    rows = pd.concat(tables, ignore_index=True)
    cells = rows.assign(cell=[_matrix_cell(r) for r in rows.itertuples(index=False)])
    order = list(dict.fromkeys(rows["claim"]))
    matrix = cells.pivot(index="claim", columns="run_id", values="cell").reindex(order)
    return matrix[list(dict.fromkeys(rows["run_id"]))].reset_index()


def csv_bytes(findings: Findings) -> bytes:
    """The table with every claim's parts, as pipelines.findings --csv writes it."""
    return table_with_parts(findings).to_csv(index=False).encode("utf-8")
