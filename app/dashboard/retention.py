"""Token patterns' service: retention by category with 95% bootstrap intervals over the examples
(pruning_core.analysis.linguistics.retention_intervals), cached per database version, and its CSV."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pruning_core import storage as store
from pruning_core.analysis.linguistics import retention_intervals

from . import reads

CSV_COLUMNS = ["category", "class_name", "layer", "total", "kept", "rate", "low", "high"]


@st.cache_data(ttl=reads.COMPUTED_TTL_SECONDS, show_spinner="Computing 95% intervals…", max_entries=64)
def _intervals(run_id: str, facet: str, by: str, layer: int, db: str, version: float) -> pd.DataFrame:
    info = store.run_info(run_id, db)
    examples = store.examples(run_id, limit=max(int(info["n_examples"] or 0), 1), db=db)
    return retention_intervals(store.analysed_words(run_id, db), examples, facet, layer, by)


def intervals(run_id: str, facet: str, by: str, layer: int) -> pd.DataFrame:
    """Per category (and class unless by is "all"): rate, low, high after `layer`; reads.Unavailable when the
    store cannot answer."""
    db, version = reads.db_version()
    with reads.store_notices():
        return _intervals(run_id, facet, by, layer, db, version)


def with_intervals(shown: pd.DataFrame, run_id: str, facet: str, by: str, layer: int) -> pd.DataFrame:
    """Stored retention rows (store.retention: the "all" rows and those of `by`'s classes) with low and high, the
    95% interval of each rate."""
    bounds = []
    for grouping in ("all", by):
        frame = intervals(run_id, facet, grouping, layer)
        key = frame["class_index"].astype("float").fillna(-1)
        bounds.append(pd.DataFrame({"category": frame["category"], "key": key, "low": frame["low"],
                                    "high": frame["high"]}))
    merged = pd.concat(bounds).drop_duplicates(["category", "key"])
    keyed = shown.assign(key=shown["class_index"].astype("float").fillna(-1))
    return keyed.merge(merged, on=["category", "key"], how="left").drop(columns="key")


def csv_bytes(shown: pd.DataFrame) -> bytes:
    """The rows behind the retention chart (layers counted from 1), with each rate's 95% interval."""
    table = shown.assign(layer=shown["layer"] + 1)
    return table[[c for c in CSV_COLUMNS if c in table]].to_csv(index=False).encode("utf-8")
