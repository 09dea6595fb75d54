"""Accuracy against cost over benchmark rows: speed-ups against the sweep's strongest unpruned path, the Pareto
front, each setting's role, accuracy by text length, and the learned values worth plotting.

Generic over datasets and methods: a row is one benchmark setting (store.benchmarks()), text or vision.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from pruning_core.analysis.sweeps import reference_setting, speed_setting, sweep_config
from pruning_core.metrics import TRANSFORMERS_SETTING, accuracy_by_length, describe_timing, points_cell, prunes_tokens

from . import reads
from .tables import as_list

COMPARED_METHODS = ("ltp", "topk", "ts_dtp")


def versus_reference(rows: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The sweep's reference setting and each row's accuracy against it in points, '-1.1 [-1.6, -0.6]' with the
    paired 95% interval where predictions were stored ('' for the reference itself; (None, blanks) without one)."""
    reference = reference_setting(rows["setting"])
    if reference is None:
        return None, [""] * len(rows)
    base = rows[rows["setting"] == reference].iloc[0]
    return reference, ["" if row["setting"] == reference else points_cell(row, base) for _, row in rows.iterrows()]


@st.cache_data(ttl=reads.COMPUTED_TTL_SECONDS, show_spinner="Pairing every setting's predictions…", max_entries=32)
def _versus(bench_id: str, db: str, version: float, _rows: pd.DataFrame) -> tuple[str | None, list[str]]:
    return versus_reference(_rows)   # the key is the sweep and database version; the rows are not hashed


def versus_column(sweep: pd.DataFrame) -> tuple[str | None, list[str]]:
    """versus_reference for the rows of one stored sweep as read at the current database version, computed once
    per version (10,000 paired resamples per setting take seconds on a 10,000-image sweep)."""
    return _versus(sweep["bench_id"].iloc[0], *reads.db_version(), sweep)


def timing_caption(rows: pd.DataFrame) -> str:
    """How one sweep was timed and what its speed-ups are against (describe_timing of its config)."""
    return describe_timing(sweep_config(rows), speed_setting(rows))


def with_reference_speedups(rows: pd.DataFrame) -> pd.DataFrame:
    """rows with speedup_b32 and speedup_b1 against each sweep's speed_setting (older text sweeps stored them
    against `unpruned`, not the control); a sweep without one keeps its stored speed-ups."""
    rows = rows.copy()
    sweeps = rows["bench_id"] if "bench_id" in rows else pd.Series(0, index=rows.index)
    for _, sweep in rows.groupby(sweeps, sort=False):
        reference = sweep[sweep["setting"] == speed_setting(sweep)]
        if reference.empty:
            continue
        rows.loc[sweep.index, "speedup_b32"] = sweep["throughput_b32"] / reference["throughput_b32"].iloc[0]
        rows.loc[sweep.index, "speedup_b1"] = reference["latency_b1_ms"].iloc[0] / sweep["latency_b1_ms"]
    return rows


def setting_roles(rows: pd.DataFrame) -> list[str]:
    """What each row stands for beyond its name: the speed-up reference, the transformers reference (timed only for
    reference), LTP's weights with nothing pruned; '' for the others."""
    reference = speed_setting(rows)

    def role(row: pd.Series) -> str:
        if row["setting"] == TRANSFORMERS_SETTING:
            return "reference only: the transformers model as most users run it"
        if row["setting"] == reference:
            return "speed-up reference"
        if row["method"] != "none" and not prunes_tokens(row):
            return "nothing pruned: the pruned model's weights alone"
        return ""
    return [role(row) for _, row in rows.iterrows()]


def by_length(rows: pd.DataFrame) -> pd.DataFrame | None:
    """Tidy accuracy by length bucket: setting, method, bucket ('< 128 (n = 412)'), accuracy (NaN when empty) and
    cell (accuracy with the paired difference from the accuracy reference, 95% CI); None for a sweep stored without
    predictions or lengths."""
    reference = reference_setting(rows["setting"])
    base = rows[rows["setting"] == reference].iloc[0] if reference else None
    records = []
    for _, row in rows.iterrows():
        found = accuracy_by_length(row, None if base is None or row["setting"] == reference else base)
        if found is None:
            return None
        records += [(row["setting"], row["method"], f"{b.label} (n = {b.n:,})", b.accuracy, b.cell()) for b in found]
    frame = pd.DataFrame(records, columns=["setting", "method", "bucket", "accuracy", "cell"])
    return frame.assign(accuracy=frame["accuracy"].astype(float))


@st.cache_data(ttl=reads.COMPUTED_TTL_SECONDS, show_spinner="Accuracy by text length…", max_entries=32)
def _by_length(bench_id: str, db: str, version: float, _rows: pd.DataFrame) -> pd.DataFrame | None:
    return by_length(_rows)


def by_length_of(sweep: pd.DataFrame) -> pd.DataFrame | None:
    """by_length for one stored sweep, computed once per database version (paired resamples per bucket)."""
    return _by_length(sweep["bench_id"].iloc[0], *reads.db_version(), sweep)


def length_cells(tidy: pd.DataFrame) -> pd.DataFrame:
    """by_length as a table: one row per setting, one column per bucket (its n in the header)."""
    table = tidy.pivot(index="setting", columns="bucket", values="cell")
    return table.loc[tidy["setting"].unique(), tidy["bucket"].unique()].reset_index()


def settings_columns(reference: str | None, speed: str | None) -> dict:
    """The column settings of the page's table of every setting (accuracy against `reference`, speed-ups against
    `speed`)."""
    return {
        "accuracy": st.column_config.NumberColumn(format="%.3f"),
        "versus": st.column_config.TextColumn(f"vs {reference or 'reference'} (points, 95% CI)", help=(
            "Accuracy minus the reference setting's on the same test examples, with a paired bootstrap 95% interval "
            "(10,000 resamples of the examples) where the sweep stored every prediction.")),
        "macro_f1": st.column_config.NumberColumn("macro-F1", format="%.3f"),
        "GFLOPs": st.column_config.NumberColumn(format="%.3g"),
        "throughput_b32": st.column_config.NumberColumn("examples/s (batch 32)", format="%.1f"),
        "latency_b1_ms": st.column_config.NumberColumn("ms (batch 1)", format="%.1f"),
        "speedup_b32": st.column_config.NumberColumn(f"speed-up (b32) vs {speed}", format="%.2f×"),
        "speedup_b1": st.column_config.NumberColumn(f"speed-up (b1) vs {speed}", format="%.2f×"),
        "role": st.column_config.TextColumn("role", help=(
            "The speed-up reference is the equally trained unpruned model on the strongest unpruned path; the "
            "transformers row (the model as most users run it) is timed for reference only."))}


def pareto_front(cost: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """(n,) bool: the points no other point beats, i.e. none has cost <= and quality >= with one strict."""
    cost, quality = np.asarray(cost, dtype=float), np.asarray(quality, dtype=float)
    valid = ~(np.isnan(cost) | np.isnan(quality))
    front = np.zeros(len(cost), dtype=bool)
    for i in np.flatnonzero(valid):
        others = valid.copy()
        others[i] = False
        dominated = others & (cost <= cost[i]) & (quality >= quality[i]) & ((cost < cost[i]) | (quality > quality[i]))
        front[i] = not dominated.any()
    return front


def mark_front(rows: pd.DataFrame, x: str, metric: str) -> pd.DataFrame:
    """rows with a bool `pareto` column: throughput-like x is better high, FLOPs/latency-like x better low."""
    values = rows[x].to_numpy(dtype=float)
    cost = -values if higher_is_faster(x) else values.copy()
    cost[(rows["setting"] == TRANSFORMERS_SETTING).to_numpy()] = np.nan   # timed for reference only, never a choice
    return rows.assign(pareto=pareto_front(cost, rows[metric].to_numpy(dtype=float)))


def higher_is_faster(column: str) -> bool:
    return column.startswith(("throughput", "speedup"))


def missing_methods(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED_METHODS) -> list[str]:
    present = set(rows["method"]) if "method" in rows else set()
    return [method for method in wanted if method not in present]


def learned_values(rows: pd.DataFrame) -> pd.DataFrame:
    """Tidy per-layer learned values: LTP thresholds (attention units) and TS-DTP offsets (standard deviations).

    Columns: setting, method, kind ("threshold" or "offset"), layer (1-based), value."""
    records = []
    for row in rows.itertuples(index=False):
        kinds = []
        thresholds = as_list(getattr(row, "thresholds", None))
        if thresholds:
            kinds.append(("threshold", thresholds))
        offsets = _config(getattr(row, "method_config", None)).get("offsets")
        if offsets:
            kinds.append(("offset", offsets))
        for kind, values in kinds:
            records += [(row.setting, row.method, kind, layer + 1, float(value)) for layer, value in enumerate(values)]
    return pd.DataFrame(records, columns=["setting", "method", "kind", "layer", "value"])


def _config(text: object) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
