"""Accuracy against speed over benchmark settings, tokens alive per layer, accuracy by text length, and the learned
values."""
from __future__ import annotations

import html

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from pruning_core.metrics import TRANSFORMERS_SETTING, alive_on_entry

from ..tables import as_list, method_name
from ..tradeoff import higher_is_faster, learned_values, mark_front, with_reference_speedups
from .charts import styled

METHOD_COLORS = {"none": "#0f172a", "topk": "#d97706", "ltp": "#2563eb", "ts_dtp": "#059669"}
SPEED_TITLES = {"throughput_b32": "measured throughput", "latency_b1_ms": "measured latency", "flops": "analytic FLOPs"}
SPEED_AXES = {"throughput_b32": "Throughput at batch 32 (examples per second)",
              "latency_b1_ms": "Latency at batch 1 (ms per example)",
              "flops": "Analytic FLOPs per example (GFLOPs)"}
METRIC_NAMES = {"accuracy": "Accuracy", "macro_f1": "Macro-F1"}

REFERENCE_COLOR = "#94a3b8"

TRADEOFF_CAPTION = ("Each dot is one benchmark setting (hover for its name and figures); the dashed line joins the "
                    "Pareto front, the settings no other setting beats on both axes: {better}. The hollow diamond, "
                    "where the sweep has it, is the transformers model as most users run it: a reference, never "
                    "on the front.")
MEAN_KEPT_CAPTION = ("Each line is one setting (coloured by method): the mean number of tokens alive on entry to each "
                     "layer of a test example (layer 1: the input); the last point is what the classifier read, as the "
                     "last layer's own pruning cannot change the prediction.")
LENGTH_CAPTION = ("Each line is one setting's accuracy on the test examples of each length bucket (tokens read; n in "
                  "the axis labels); a gap is a bucket without examples. The table gives each setting's paired "
                  "difference from the reference in points, with its 95% interval.")
LEARNED_CAPTION = ("Each line is one setting's learned per-layer value: LTP's threshold on attention received "
                   "(tokens below it are removed), TS-DTP's offset in standard deviations of a text's own scores.")


def better_direction(x: str) -> str:
    return "up and to the right is better" if higher_is_faster(x) else "up and to the left is better"


def tradeoff_figure(rows: pd.DataFrame, x: str, metric: str = "accuracy", title: str | None = None) -> go.Figure:
    """Scatter of metric against a speed or cost column, one colour per method, the Pareto front joined."""
    rows = mark_front(with_reference_speedups(rows), x, metric)
    scale = 1e-9 if x == "flops" else 1.0
    figure = go.Figure()
    reference = rows["setting"] == TRANSFORMERS_SETTING
    for method in [m for m in [*METHOD_COLORS, *sorted(set(rows["method"]) - set(METHOD_COLORS))]
                   if m in set(rows.loc[~reference, "method"])]:
        part = rows[(rows["method"] == method) & ~reference]
        figure.add_trace(_dots(part, x, metric, scale, method_name(method), dict(
            size=[15 if p else 11 for p in part["pareto"]], color=METHOD_COLORS.get(method, "#7c3aed"),
            line=dict(width=[2.5 if p else 0 for p in part["pareto"]], color="#0f172a"))))
    if reference.any():
        figure.add_trace(_dots(rows[reference], x, metric, scale, "transformers (reference only)", dict(
            size=13, symbol="diamond-open", color=REFERENCE_COLOR, line=dict(width=2))))
    front = rows[rows["pareto"]].sort_values(x)
    figure.add_trace(go.Scatter(x=front[x] * scale, y=front[metric], mode="lines", name="Pareto front",
                                line=dict(dash="dash", color="#64748b", width=1.5), hoverinfo="skip"))
    axis = SPEED_AXES.get(x, x)
    styled(figure, title or f"{METRIC_NAMES.get(metric, metric)} against {SPEED_TITLES.get(x, x)}",
           axis, METRIC_NAMES.get(metric, metric))
    figure.update_layout(height=420)
    return figure


def _dots(part: pd.DataFrame, x: str, metric: str, scale: float, name: str, marker: dict) -> go.Scatter:
    """One trace of labelled dots, the setting's figures on hover."""
    return go.Scatter(
        x=part[x] * scale, y=part[metric], mode="markers+text", name=name,
        text=[html.escape(str(s)) for s in part["setting"]], textposition="top center",
        textfont=dict(size=11, color="#475569"), marker=marker,
        customdata=part[["dataset", "speedup_b32", "latency_b1_ms"]].to_numpy(),
        hovertemplate="<b>%{text}</b> (%{customdata[0]})<br>" + METRIC_NAMES.get(metric, metric)
                      + " %{y:.3f}<br>%{x:.3g}<br>speed-up %{customdata[1]:.2f}× at batch 32, "
                      "%{customdata[2]:.1f} ms at batch 1<extra></extra>")


def mean_kept_figure(rows: pd.DataFrame) -> go.Figure:
    """Lines: mean tokens alive on entry to each layer, per setting (layer 1: the input; the last: what the
    classifier read)."""
    figure = go.Figure()
    for row in rows.itertuples(index=False):
        alive = alive_on_entry(as_list(row.mean_kept), as_list(row.keep_fraction))
        figure.add_trace(go.Scatter(x=list(range(1, len(alive) + 1)), y=alive, mode="lines+markers",
                                    name=html.escape(str(row.setting)), line=dict(color=METHOD_COLORS.get(row.method)),
                                    hovertemplate=html.escape(str(row.setting))
                                    + ": %{y:.1f} tokens alive on entry to layer %{x}<extra></extra>"))
    figure.update_yaxes(rangemode="tozero")
    figure.update_xaxes(dtick=1)
    styled(figure, "Mean tokens alive on entry to each layer", "Layer", "Tokens per example")
    figure.update_layout(legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02))
    return figure


def length_figure(tidy: pd.DataFrame) -> go.Figure:
    """Lines: each setting's accuracy per length bucket (tidy: setting, method, bucket, accuracy, as
    tradeoff.by_length gives it); empty buckets leave a gap."""
    figure = go.Figure()
    for setting, part in tidy.groupby("setting", sort=False):
        name = html.escape(str(setting))
        dash = "dot" if setting == TRANSFORMERS_SETTING else None
        figure.add_trace(go.Scatter(x=part["bucket"], y=part["accuracy"], mode="lines+markers", name=name,
                                    line=dict(color=METHOD_COLORS.get(part["method"].iloc[0]), dash=dash),
                                    hovertemplate=name + ": accuracy %{y:.3f} at %{x} tokens<extra></extra>"))
    styled(figure, "Accuracy by text length", "Tokens read (bucket)", "Accuracy")
    figure.update_layout(legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02))
    return figure


def learned_values_figure(rows: pd.DataFrame) -> go.Figure | None:
    """LTP thresholds and TS-DTP offsets per layer (one panel each); None when no setting learned any."""
    values = learned_values(rows)
    if values.empty:
        return None
    values = values.assign(kind=values["kind"].map({"threshold": "LTP threshold (attention received)",
                                                    "offset": "TS-DTP offset (standard deviations)"}),
                           setting=values["setting"].map(lambda s: html.escape(str(s))))
    figure = px.line(values, x="layer", y="value", color="setting", facet_col="kind", markers=True,
                     facet_col_spacing=0.08)
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.update_xaxes(dtick=1)
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    styled(figure, "Learned per-layer values", "Layer", "Value")
    figure.update_layout(legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02))
    return figure


def missing_methods_note(missing: list[str]) -> str:
    names = ", ".join(method_name(m) for m in missing)
    verb = "it is" if len(missing) == 1 else "they are"
    return f"No stored benchmark rows for {names} on this dataset, so {verb} not shown."
