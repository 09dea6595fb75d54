"""Accuracy against cost over benchmark rows: the Pareto front, and the learned values worth plotting.

Generic over datasets and methods: a row is one benchmark setting (store.benchmarks()), text or vision.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from pruning_core.metrics import points_cell

from . import reads
from .tables import as_list

COMPARED_METHODS = ("ltp", "topk", "ts_dtp")
# What a sweep's rows are compared with: the unpruned model trained for as many steps (text), else the unpruned one.
REFERENCE_SETTINGS = ("control", "unpruned")


def versus_reference(rows: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The sweep's reference setting and each row's accuracy against it in points, '-1.1 [-1.6, -0.6]' with the
    paired 95% interval where predictions were stored ('' for the reference itself; (None, blanks) without one)."""
    reference = next((name for name in REFERENCE_SETTINGS if (rows["setting"] == name).any()), None)
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
    cost = -values if higher_is_faster(x) else values
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
