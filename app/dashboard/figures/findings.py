"""The Findings page's small charts: each claim's parts (the values its statistic is made of) with their raw 95%
intervals. Part names come from the data (class names), so they are HTML-escaped."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pruning_core.analysis.findings import INCONCLUSIVE, NO_DATA, NOT_SUPPORTED, SUPPORTED

VERDICT_COLORS = {SUPPORTED: "#059669", NOT_SUPPORTED: "#dc2626", INCONCLUSIVE: "#d97706", NO_DATA: "#94a3b8"}
BADGE_COLORS = {SUPPORTED: "green", NOT_SUPPORTED: "red", INCONCLUSIVE: "orange", NO_DATA: "gray"}
PARTS_CAPTION = ("Each bar is one value the statistic is made of; the whisker is its raw 95% bootstrap interval. "
                 "The verdict (the bar's colour) comes from the statistic's corrected interval (Holm–Bonferroni "
                 "over the run's claims), not from these whiskers.")


def parts_figure(parts: pd.DataFrame, verdict: str) -> go.Figure:
    """Horizontal bars, one per part (in the claim's order, top to bottom), with raw 95% error bars, coloured by
    the claim's (corrected) verdict."""
    values = parts["value"].to_numpy(dtype=float)
    plus = np.clip(parts["high"].to_numpy(dtype=float) - values, 0, None)
    minus = np.clip(values - parts["low"].to_numpy(dtype=float), 0, None)
    names = [html.escape(str(name)) for name in parts["part"]]
    figure = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker_color=VERDICT_COLORS.get(verdict, VERDICT_COLORS[NO_DATA]),
        error_x=dict(type="data", array=plus, arrayminus=minus, color="#0f172a", thickness=1.5, width=4),
        customdata=np.stack([parts["low"], parts["high"]], axis=-1),
        hovertemplate="%{y}: %{x:.3g} [%{customdata[0]:.3g}, %{customdata[1]:.3g}]<extra></extra>"))
    measure = html.escape(str(parts["measure"].iloc[0])) if len(parts) else ""
    figure.update_layout(template="plotly_white", height=70 + 26 * max(len(parts), 1),
                         margin=dict(l=10, r=10, t=10, b=40), xaxis_title=measure, showlegend=False)
    figure.update_yaxes(autorange="reversed")
    return figure
