"""Which kinds of words survive: retention by category and class, and the most retained words.

Inputs are the store's frames (retention(), top_words()); words come from user data, so every label
is HTML-escaped (Plotly reads a small HTML subset in labels and hovers).
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..tables import FACET_NAMES
from .charts import styled

ALL_COLOR = "#94a3b8"
CLASS_COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]

RETENTION_CAPTION = ("Each bar is the share of that category's words still alive after the chosen layer "
                     "(grey: every class together), its whisker the 95% bootstrap interval over the texts; hover "
                     "for the counts behind it.")
RETENTION_LAYERS_CAPTION = ("Each cell is the share of a category's words alive after a layer (all classes): "
                            "read a row left to right to see when that category gets pruned.")
TOP_WORDS_CAPTION = ("Each bar counts how often a word reached the classifier in texts of that class; "
                     "hover for how often it occurred and the share kept.")
TREEMAP_CAPTION = ("Each box is a word, sized by how often it reached the classifier and coloured by the share of "
                   "its occurrences kept; click a class to zoom in.")


def class_colors(names: list[str]) -> dict[str, str]:
    """A fixed colour per class name, grey for 'all'."""
    colors = {name: CLASS_COLORS[i % len(CLASS_COLORS)] for i, name in enumerate(n for n in names if n != "all")}
    return {**colors, "all": ALL_COLOR}


def retention_figure(frame: pd.DataFrame, facet: str, layer: int, class_order: list[str]) -> go.Figure:
    """Horizontal bars: retention rate per category (largest categories on top), one bar per class, with error bars
    where the frame has the rate's interval (low, high)."""
    name = FACET_NAMES.get(facet, facet).lower()
    figure = go.Figure()
    order = (frame.groupby("category")["total"].max().sort_values(ascending=True).index.tolist()
             if not frame.empty else [])
    colors = class_colors(class_order)
    for class_name in reversed(class_order):
        rows = frame[frame["class_name"] == class_name].set_index("category").reindex(order)
        low, high = (rows[column] if column in rows else rows["rate"] for column in ("low", "high"))
        figure.add_trace(go.Bar(
            y=[html.escape(str(c)) for c in order], x=rows["rate"], orientation="h", name=html.escape(class_name),
            marker_color=colors.get(class_name),
            error_x=dict(type="data", array=(high - rows["rate"]).clip(lower=0),
                         arrayminus=(rows["rate"] - low).clip(lower=0), color="#334155", thickness=1, width=2),
            customdata=np.stack([rows["kept"], rows["total"], low, high], axis=-1),
            hovertemplate="%{y}: %{x:.0%} kept (%{customdata[0]:.0f} of %{customdata[1]:.0f}; 95% interval "
                          "%{customdata[2]:.0%}–%{customdata[3]:.0%})<extra>" + html.escape(class_name) + "</extra>"))
    figure.update_layout(barmode="group", legend_traceorder="reversed")
    figure.update_xaxes(tickformat=".0%", range=[0, 1.05])
    styled(figure, f"Share of words kept after layer {layer + 1}, by {name}", "Share of words kept", name.capitalize())
    figure.update_layout(height=max(340, 90 + 22 * len(order) * max(1, len(class_order)) ** 0.6))
    return figure


def retention_layers_figure(frame: pd.DataFrame, facet: str) -> go.Figure:
    """Heatmap: categories (rows) by layer (columns), all classes together."""
    name = FACET_NAMES.get(facet, facet).lower()
    table = frame.pivot_table(index="category", columns="layer", values="rate")
    totals = frame.groupby("category")["total"].max().reindex(table.index)
    table = table.loc[totals.sort_values().index]
    figure = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=[f"L{layer + 1}" for layer in table.columns],
        y=[html.escape(str(c)) for c in table.index], colorscale="Blues", zmin=0, zmax=1,
        colorbar=dict(title="kept", tickformat=".0%"), texttemplate="%{z:.0%}",
        hovertemplate="%{y} after %{x}: %{z:.0%} kept<extra></extra>"))
    styled(figure, "Retention layer by layer, all classes", "Layer", name.capitalize())
    figure.update_layout(height=max(300, 80 + 26 * len(table)))
    return figure


def top_words_figure(frame: pd.DataFrame, class_order: list[str]) -> go.Figure:
    """One panel of horizontal bars per class: the words most often kept to the classifier."""
    shown = [html.escape(name) for name in class_order if name in set(frame["class_name"])]
    columns = max(1, len(shown))
    colors = {html.escape(name): color for name, color in class_colors(class_order).items()}
    escaped = frame.assign(word=frame["word"].map(html.escape), class_name=frame["class_name"].map(html.escape))
    figure = px.bar(escaped, x="kept", y="word", color="class_name",
                    facet_col="class_name", facet_col_wrap=min(columns, 4), orientation="h",
                    category_orders={"class_name": shown}, color_discrete_map=colors,
                    custom_data=["occurrences", "rate"], facet_col_spacing=0.08)
    figure.update_traces(hovertemplate="%{y}: kept %{x} of %{customdata[0]} times (%{customdata[1]:.0%})"
                                       "<extra></extra>")
    figure.update_yaxes(matches=None, showticklabels=True, autorange="reversed", title=None)
    figure.update_xaxes(title=None)
    figure.for_each_annotation(lambda a: a.update(text=f"<b>{a.text.split('=', 1)[-1]}</b>"))
    styled(figure, "Words most often kept to the classifier, per class", "", "")
    rows = -(-columns // 4)
    words = int(frame.groupby("class_name").size().max()) if not frame.empty else 1
    figure.update_layout(showlegend=False, height=max(340, 90 + rows * (20 * words + 30)),
                         margin=dict(l=10, r=10, t=60, b=44))
    figure.add_annotation(text="Times kept to the classifier", x=0.5, y=-0.02, xref="paper", yref="paper",
                          yanchor="top", showarrow=False, yshift=-24)
    return figure


def top_words_treemap(frame: pd.DataFrame, class_order: list[str]) -> go.Figure:
    """Treemap: classes, then their most retained words (area: times kept; colour: share kept)."""
    shown = frame.assign(word=frame["word"].map(html.escape), class_name=frame["class_name"].map(html.escape))
    figure = px.treemap(shown, path=[px.Constant("all classes"), "class_name", "word"], values="kept",
                        color="rate", color_continuous_scale="Blues", range_color=(0, 1),
                        custom_data=["occurrences", "rate"])
    figure.update_traces(hovertemplate="%{label}: kept %{value} times<extra></extra>", root_color="#f1f5f9",
                         marker=dict(cornerradius=4))
    figure.update_coloraxes(colorbar=dict(title="share kept", tickformat=".0%"))
    figure.update_layout(title=dict(text="Most retained words per class, as a treemap", x=0, xanchor="left"),
                         template="plotly_white", height=460, margin=dict(l=10, r=10, t=50, b=10))
    return figure
