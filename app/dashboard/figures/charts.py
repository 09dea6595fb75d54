"""Plotly figures of one trace: tokens alive per layer, and every token's score against the threshold.

Each figure has a title and labelled axes; the matching one-line captions tell how to read them.
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from pruning_core.render import layer_cutoff
from pruning_core.trace import ExampleTrace

BLUE, RED, GREY = "#2563eb", "#dc2626", "#0f172a"

TOKEN_COUNT_CAPTION = ("Each bar is the number of tokens still in play after that layer (CLS included); "
                       "the steeper the fall, the less work the later layers do.")
SCORE_CAPTION = ("Each dot is a token at that layer (blue kept, red removed; hover for its text); the dash is the "
                 "layer's threshold, or for top-k the lowest score that survived.")


def styled(figure: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    """The shared look: a left-aligned title, labelled axes, white template, a legend above the plot."""
    figure.update_layout(title=dict(text=title, x=0, xanchor="left"), template="plotly_white", height=340,
                         margin=dict(l=10, r=10, t=50, b=10), xaxis_title=x_title, yaxis_title=y_title,
                         legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    return figure


def token_count_figure(trace: ExampleTrace) -> go.Figure:
    """Bars: tokens at the input, then after each layer."""
    labels = ["input", *[str(layer + 1) for layer in range(trace.num_layers)]]
    counts = [len(trace.tokens), *trace.keep_counts]
    figure = go.Figure(go.Bar(x=labels, y=counts, marker_color=[GREY, *[BLUE] * trace.num_layers], text=counts,
                              textposition="outside", cliponaxis=False,
                              hovertemplate="after layer %{x}: %{y} tokens<extra></extra>"))
    figure.update_yaxes(rangemode="tozero")
    figure.update_xaxes(type="category")
    return styled(figure, "Tokens alive after each layer", "Layer", "Tokens")


def score_figure(trace: ExampleTrace) -> go.Figure:
    """Dots: each present token's score per layer, kept vs removed, with the layer's threshold or cut-off."""
    layers, positions = np.nonzero(~np.isnan(trace.scores))
    kept = trace.kept[layers, positions]
    scores = trace.scores[layers, positions]
    floor = float(scores[scores > 0].min()) if (scores > 0).any() else 1e-6
    jitter = (np.random.default_rng(0).random(len(layers)) - 0.5) * 0.35   # spread dots within a layer
    # Plotly reads hover text as a small HTML subset: escape what the user typed.
    tokens = np.asarray([html.escape(_shown(trace, p)) for p in positions], dtype=object)
    figure = go.Figure()
    for mask, name, color in ((kept, "kept", BLUE), (~kept, "removed", RED)):
        figure.add_trace(go.Scatter(
            x=layers[mask] + 1 + jitter[mask], y=np.maximum(scores[mask], floor), mode="markers", name=name,
            marker=dict(color=color, size=7, opacity=0.75), customdata=tokens[mask],
            hovertemplate="%{customdata}<br>score %{y:.3g}<extra>" + name + "</extra>"))
    cutoffs = [layer_cutoff(trace, layer)[0] for layer in range(trace.num_layers)]
    marked = [(layer + 1, value) for layer, value in enumerate(cutoffs) if value is not None and value > 0]
    if marked:
        figure.add_trace(go.Scatter(x=[x for x, _ in marked], y=[v for _, v in marked], mode="markers",
                                    name="threshold", marker=dict(symbol="line-ew", size=28, color=GREY,
                                                                  line=dict(width=3, color=GREY)),
                                    hovertemplate="threshold %{y:.3g}<extra>layer %{x}</extra>"))
    figure.update_yaxes(type="log")
    figure.update_xaxes(tickmode="array", tickvals=list(range(1, trace.num_layers + 1)))
    return styled(figure, "Token scores against each layer's threshold", "Layer", "Score (log scale)")


def _shown(trace: ExampleTrace, position: int) -> str:
    """The characters behind a token (the token itself for specials), for hover labels."""
    if trace.offsets and trace.text:
        start, end = trace.offsets[position]
        if end > start:
            return trace.text[start:end]
    return trace.tokens[position]
