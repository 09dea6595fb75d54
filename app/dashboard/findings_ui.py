"""The Findings page's widgets: one bordered row per claim (verdict, statistic, rule, a small chart), and the same
claims over the other runs of the dataset. Text from the data (run ids, class names, words) is shown escaped."""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from pruning_core.analysis.findings import format_corrected, format_interval

from . import findings, reads
from .figures.findings import BADGE_COLORS, parts_figure

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Text shown as written inside Streamlit markdown: its markdown, HTML and LaTeX characters escaped."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def claim_row(row, parts: pd.DataFrame) -> None:
    """A claim of the chosen run: what it says, its verdict (the corrected interval's), the statistic with its raw
    95% interval and its corrected interval side by side, the rule and a note on the left; the parts of the
    statistic as a small chart on the right."""
    with st.container(border=True):
        text, chart = st.columns([3, 2], gap="medium")
        text.markdown(f"**{plain(row.claim)}**")
        text.badge(row.verdict, color=BADGE_COLORS.get(row.verdict, "gray"))
        text.markdown(f"Statistic: {plain(format_interval(row.value, row.low, row.high))} (raw 95% bootstrap "
                      f"interval) · corrected: "
                      f"{plain(format_corrected(row.corrected_low, row.corrected_high, row.corrected_confidence))}")
        if not pd.isna(row.corrected_confidence):
            raw = "" if row.raw_verdict == row.verdict else f"; the raw 95% interval alone says {row.raw_verdict}"
            p = f"p = {row.p_value:.3g}" if row.p_value > 0 else "p = 0 (no resample beyond the rule's bound)"
            text.caption(f"Corrected by {plain(row.correction)}, {plain(p)}: the verdict is this interval's"
                         f"{plain(raw)}.")
        text.caption(f"Rule: {plain(row.rule)}")
        if row.note:
            text.caption(plain(row.note))
        if parts.empty:
            chart.caption("Nothing to chart: " + plain(row.note or "no value."))
        else:
            chart.plotly_chart(parts_figure(parts, row.verdict), key=f"parts_{row.key}",
                               config={"displayModeBar": False})


def other_runs(run: dict, found: pd.DataFrame) -> None:
    """The chosen run's claims on every other run of its dataset (the analysed ones), claims by runs."""
    same = found[(found["dataset"] == run["dataset"]) & (found["run_id"] != run["run_id"])]
    if same.empty:
        st.caption("No other run of this dataset is stored.")
        return
    analysed = same[same["analysed"].astype(bool)]
    waiting = same[~same["analysed"].astype(bool)]
    tables = [findings.checked(run["run_id"]).table]
    for run_id in analysed["run_id"]:
        try:
            tables.append(findings.checked(run_id).table)
        except reads.Unavailable as reason:
            st.info(f"{plain(run_id)}: {plain(reason)}")
    if len(tables) > 1:
        st.dataframe(findings.runs_matrix(tables), hide_index=True, key="findings_runs")
        st.caption("Each cell: the verdict (the corrected interval's), the statistic with its raw 95% interval, then "
                   "its interval corrected by Holm–Bonferroni over that run's claims, with its level.")
    if not waiting.empty:
        st.caption("Not analysed yet, so not checked: " + ", ".join(plain(r) for r in waiting["run_id"])
                   + ". Analyse one with `python -m pipelines.analyze --run RUN`.")
