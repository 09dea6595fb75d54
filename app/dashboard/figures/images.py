"""Plotly figure for one image trace: tokens kept after each layer against what the schedule promises."""
from __future__ import annotations

import plotly.graph_objects as go

from pruning_core.trace import ExampleTrace
from .charts import BLUE, GREY, styled

AMBER = "#d97706"
PATCH_COUNT_CAPTION = ("Each bar is the number of tokens (CLS plus the patches still in play) after that layer; "
                       "the diamonds are the counts the schedule sets, where it sets them in advance.")


def patch_count_figure(trace: ExampleTrace, expected: list[int] | None = None) -> go.Figure:
    """Bars: tokens at the input, then after each layer; diamonds: the schedule's expected counts."""
    layers = [str(layer + 1) for layer in range(trace.num_layers)]
    figure = go.Figure()
    for x, y, name, color, hover in ((["input"], [len(trace.tokens)], "input", GREY, "at the input"),
                                     (layers, trace.keep_counts, "kept", BLUE, "after layer %{x}")):
        figure.add_trace(go.Bar(x=x, y=y, name=name, marker_color=color, text=y, textposition="outside",
                                cliponaxis=False, hovertemplate=hover + ": %{y} tokens<extra></extra>"))
    if expected is not None:
        figure.add_trace(go.Scatter(x=layers, y=list(expected), mode="markers", name="schedule",
                                    marker=dict(symbol="diamond", size=11, color=AMBER,
                                                line=dict(width=1, color="#ffffff")),
                                    hovertemplate="schedule, layer %{x}: %{y} tokens<extra></extra>"))
    figure.update_layout(barmode="overlay")      # one bar per category, not side-by-side slots
    figure.update_yaxes(rangemode="tozero")
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=["input", *layers])
    return styled(figure, "Tokens kept after each layer", "Layer", "Tokens (CLS + patches)")
