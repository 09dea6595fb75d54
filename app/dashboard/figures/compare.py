"""Two runs, or several methods, on the same views: survival per layer, retention by category, overlap."""
from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from ..tables import FACET_NAMES, method_name
from .charts import styled

PAIR_COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed")

SURVIVAL_CAPTION = ("Each line is one run: the share of its tokens still alive after each layer (1.0 at the "
                    "input); a lower line prunes harder.")
RETENTION_COMPARE_CAPTION = ("Each pair of bars is one category: the share of its words the classifier read in each "
                             "run (alive on entry to the last layer); a longer bar means that run kept more of them.")
JACCARD_CAPTION = ("Each line is a pair of methods: after each layer, the tokens both kept divided by the tokens "
                   "either kept (1 = they keep exactly the same tokens, 0 = nothing in common).")


def survival_figure(survival: dict[str, pd.DataFrame]) -> go.Figure:
    """Lines: share of tokens alive after each layer, one per named run (store.layer_survival frames)."""
    figure = go.Figure()
    for (name, frame), color in zip(survival.items(), PAIR_COLORS):
        layers = [0, *(frame["layer"] + 1).tolist()]
        figure.add_trace(go.Scatter(x=layers, y=[1.0, *frame["survival"].tolist()], mode="lines+markers",
                                    name=html.escape(name), line=dict(color=color, width=2.5),
                                    hovertemplate="after layer %{x}: %{y:.0%} of tokens alive<extra>"
                                                  + html.escape(name) + "</extra>"))
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05])
    figure.update_xaxes(dtick=1)
    return styled(figure, "Share of tokens alive after each layer", "Layer (0 = input)", "Tokens alive")


def retention_compare_figure(frames: dict[str, pd.DataFrame], facet: str) -> go.Figure:
    """Grouped horizontal bars: per category, the share of words each run's classifier read (store.retention frames
    at pruning_core.trace.read_layer: alive on entry to the last layer)."""
    name = FACET_NAMES.get(facet, facet).lower()
    totals = pd.concat(frames.values()).groupby("category")["total"].sum().sort_values()
    figure = go.Figure()
    for (run, frame), color in zip(reversed(list(frames.items())), reversed(PAIR_COLORS[:len(frames)])):
        rows = frame.set_index("category").reindex(totals.index)
        figure.add_trace(go.Bar(y=[html.escape(str(c)) for c in totals.index], x=rows["rate"], orientation="h",
                                name=html.escape(run), marker_color=color,
                                hovertemplate="%{y}: %{x:.0%} kept<extra>" + html.escape(run) + "</extra>"))
    figure.update_layout(barmode="group", legend_traceorder="reversed", height=max(340, 80 + 34 * len(totals)))
    figure.update_xaxes(tickformat=".0%", range=[0, 1.05])
    return styled(figure, f"Share of words reaching the classifier, by {name}", "Share of words kept",
                  name.capitalize())


def jaccard_figure(overlaps: dict[tuple[str, str], list[float]]) -> go.Figure:
    """Lines: per-layer Jaccard overlap of the kept tokens, one per pair of methods."""
    figure = go.Figure()
    for ((first, second), values), color in zip(overlaps.items(), PAIR_COLORS):
        label = f"{method_name(first)} vs {method_name(second)}"
        figure.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers",
                                    name=html.escape(label), line=dict(color=color, width=2.5),
                                    hovertemplate="layer %{x}: overlap %{y:.2f}<extra>" + html.escape(label)
                                                  + "</extra>"))
    figure.update_yaxes(range=[0, 1.05])
    figure.update_xaxes(dtick=1)
    return styled(figure, "Overlap of the kept tokens (Jaccard), layer by layer", "Layer", "Jaccard overlap")
