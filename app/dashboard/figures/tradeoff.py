"""Accuracy against speed over benchmark settings, tokens alive per layer, accuracy by text length, and the learned
values."""
from __future__ import annotations

import colorsys
import html
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from pruning_core.metrics import TRANSFORMERS_SETTING, alive_on_entry

from ..tables import as_list, method_name
from ..tradeoff import higher_is_faster, learned_values, mark_front, with_reference_speedups
from .charts import styled

# The one method -> colour table of every benchmark figure; a method's settings are told apart by shades of its
# colour and by marker (setting_looks).
METHOD_COLORS = {"none": "#0f172a", "topk": "#d97706", "ltp": "#2563eb", "ts_dtp": "#059669"}
OTHER_METHOD_COLOR = "#7c3aed"
SETTING_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "triangle-down", "pentagon", "hexagon", "star",
                   "cross", "x", "hourglass", "bowtie")
SPEED_TITLES = {"throughput_b32": "measured throughput", "latency_b1_ms": "measured latency", "flops": "analytic FLOPs"}
SPEED_AXES = {"throughput_b32": "Throughput at batch 32 (examples per second)",
              "latency_b1_ms": "Latency at batch 1 (ms per example)",
              "flops": "Analytic FLOPs per example (GFLOPs)"}
METRIC_NAMES = {"accuracy": "Accuracy", "macro_f1": "Macro-F1"}

REFERENCE_COLOR = "#94a3b8"

TRADEOFF_CAPTION = ("Each dot is one benchmark setting: a colour per method, each of its settings in its own shade "
                    "and marker (hover any dot for its name and figures). The dashed line joins the Pareto front, the "
                    "settings no other setting beats on both axes: {better}; the front and the unpruned references "
                    "are named where their names fit. The hollow diamond, where the sweep has it, is the transformers "
                    "model as most users run it: a reference, never on the front.")
MEAN_KEPT_CAPTION = ("Each line is one setting (a shade of its method's colour): the mean number of tokens alive on "
                     "entry to each layer of a test example (layer 1: the input); the last point is what the "
                     "classifier read, as the last layer's own pruning cannot change the prediction.")
LENGTH_CAPTION = ("Each line is one setting's accuracy on the test examples of each length bucket (tokens read; n in "
                  "the axis labels); a gap is a bucket without examples. The table gives each setting's paired "
                  "difference from the reference in points, with its 95% interval.")
LEARNED_CAPTION = ("Each line is one setting's learned per-layer value: LTP's threshold on attention received "
                   "(tokens below it are removed), TS-DTP's offset in standard deviations of a text's own scores.")


def better_direction(x: str) -> str:
    return "up and to the right is better" if higher_is_faster(x) else "up and to the left is better"


def method_color(method: str) -> str:
    """The colour of a method in every benchmark figure."""
    return METHOD_COLORS.get(method, OTHER_METHOD_COLOR)


def shades(color: str, count: int) -> list[str]:
    """`count` distinct shades of `color` ("#rrggbb"): its hue and saturation, from darker to lighter."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count!r}")
    hue, lightness, saturation = colorsys.rgb_to_hls(*(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)))
    if count == 1:
        return [color]
    darkest, lightest = max(0.12, lightness - 0.22), min(0.82, lightness + 0.3)
    return ["#" + "".join(f"{round(channel * 255):02x}" for channel in colorsys.hls_to_rgb(hue, level, saturation))
            for level in np.linspace(darkest, lightest, count)]


def setting_looks(rows: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """setting -> (colour, marker symbol): each method's settings, in the rows' order, get shades of the method's
    colour and markers of their own, so that six LTP settings are six looks."""
    looks = {}
    for method, part in rows.groupby("method", sort=False):
        settings = list(dict.fromkeys(part["setting"]))
        for setting, color, symbol in zip(settings, shades(method_color(method), len(settings)),
                                          np.resize(SETTING_SYMBOLS, len(settings))):
            looks[setting] = (color, str(symbol))
    return looks


# The label layout's idea of the plot: its plotting area in pixels (half a wide page, `tradeoff_figure`'s height)
# and an 11-pixel label font.
PLOT_PIXELS, CHAR_PIXELS, LINE_PIXELS, MARKER_PIXELS = (520.0, 290.0), 6.6, 15.0, 8.0
LABEL_PLACES = ("top center", "bottom center", "middle right", "middle left")


def label_places(x: Sequence[float], y: Sequence[float], texts: Sequence[str], wanted: Sequence[int]) -> list:
    """Where each point's label goes (a Plotly textposition), or None for a point named on hover only.

    The points `wanted` are labelled in that order, each in the first of LABEL_PLACES where its label (its box
    estimated from its length at the plot's usual size) stays inside the plot and covers no label placed before it
    and no other point."""
    if len(x) != len(y) or len(x) != len(texts):
        raise ValueError(f"x, y and texts must have one entry per point, got {len(x)}, {len(y)} and {len(texts)}")
    (x_scale, left, right), (y_scale, bottom, top) = (_frame(np.asarray(values, dtype=float), pixels)
                                                      for values, pixels in zip((x, y), PLOT_PIXELS))
    px, py, marker = np.asarray(x, dtype=float) * x_scale, np.asarray(y, dtype=float) * y_scale, MARKER_PIXELS
    points = [(px[i] - marker, px[i] + marker, py[i] - marker, py[i] + marker) for i in range(len(px))]
    taken, places = [], [None] * len(px)
    for i in wanted:
        if not (np.isfinite(px[i]) and np.isfinite(py[i])):
            continue
        width, line = len(texts[i]) * CHAR_PIXELS, LINE_PIXELS
        boxes = {"top center": (px[i] - width / 2, px[i] + width / 2, py[i] + marker, py[i] + marker + line),
                 "bottom center": (px[i] - width / 2, px[i] + width / 2, py[i] - marker - line, py[i] - marker),
                 "middle right": (px[i] + marker, px[i] + marker + width, py[i] - line / 2, py[i] + line / 2),
                 "middle left": (px[i] - marker - width, px[i] - marker, py[i] - line / 2, py[i] + line / 2)}
        obstacles = taken + points[:i] + points[i + 1:]
        for place in LABEL_PLACES:
            box = boxes[place]
            inside = left <= box[0] and box[1] <= right and bottom <= box[2] and box[3] <= top
            if inside and not any(_overlap(box, other) for other in obstacles):
                taken.append(box)
                places[i] = place
                break
    return places


def _frame(values: np.ndarray, pixels: float) -> tuple[float, float, float]:
    """(pixels per unit, low end, high end in pixels) of an axis showing `values`, padded as Plotly pads markers."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    pad = 0.06 * (high - low)
    scale = pixels / (high - low + 2 * pad)
    return scale, (low - pad) * scale, (high + pad) * scale


def _overlap(a: tuple, b: tuple) -> bool:
    """Whether two boxes (left, right, bottom, top) share any area."""
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def tradeoff_figure(rows: pd.DataFrame, x: str, metric: str = "accuracy", title: str | None = None) -> go.Figure:
    """Scatter of metric against a speed or cost column: one colour per method, its settings in shades and markers;
    the Pareto front joined; the references and the front named where the names fit (every point on hover)."""
    rows = mark_front(with_reference_speedups(rows), x, metric).reset_index(drop=True)
    scale = 1e-9 if x == "flops" else 1.0
    looks = setting_looks(rows)
    named = [*rows.index[rows["method"] == "none"], *rows[rows["pareto"]].sort_values(x).index]
    places = label_places(rows[x] * scale, rows[metric], [str(s) for s in rows["setting"]], list(dict.fromkeys(named)))
    rows = rows.assign(label_place=places)
    figure = go.Figure()
    reference = rows["setting"] == TRANSFORMERS_SETTING
    for method in [m for m in [*METHOD_COLORS, *sorted(set(rows["method"]) - set(METHOD_COLORS))]
                   if m in set(rows.loc[~reference, "method"])]:
        part = rows[(rows["method"] == method) & ~reference]
        figure.add_trace(_dots(part, x, metric, scale, method_name(method), dict(
            size=[15 if p else 11 for p in part["pareto"]], color=[looks[s][0] for s in part["setting"]],
            symbol=[looks[s][1] for s in part["setting"]],
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
    # The legend below the plot: above it, its two rows of methods would cover the title.
    figure.update_layout(height=460, legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))
    return figure


def _dots(part: pd.DataFrame, x: str, metric: str, scale: float, name: str, marker: dict) -> go.Scatter:
    """One trace of dots, named where `label_place` says (blank elsewhere), the setting's figures on hover."""
    placed = part["label_place"].notna()
    return go.Scatter(
        x=part[x] * scale, y=part[metric], mode="markers+text", name=name,
        text=[html.escape(str(s)) if p else "" for s, p in zip(part["setting"], placed)],
        textposition=[place if isinstance(place, str) else "top center" for place in part["label_place"]],
        textfont=dict(size=11, color="#475569"), marker=marker,
        customdata=np.column_stack([part[["dataset", "speedup_b32", "latency_b1_ms"]].to_numpy(dtype=object),
                                    [html.escape(str(s)) for s in part["setting"]]]),
        hovertemplate="<b>%{customdata[3]}</b> (%{customdata[0]})<br>" + METRIC_NAMES.get(metric, metric)
                      + " %{y:.3f}<br>%{x:.3g}<br>speed-up %{customdata[1]:.2f}× at batch 32, "
                      "%{customdata[2]:.1f} ms at batch 1<extra></extra>")


def mean_kept_figure(rows: pd.DataFrame) -> go.Figure:
    """Lines: mean tokens alive on entry to each layer, per setting (layer 1: the input; the last: what the
    classifier read)."""
    figure, looks = go.Figure(), setting_looks(rows)
    for row in rows.itertuples(index=False):
        alive = alive_on_entry(as_list(row.mean_kept), as_list(row.keep_fraction))
        color, symbol = looks[row.setting]
        figure.add_trace(go.Scatter(x=list(range(1, len(alive) + 1)), y=alive, mode="lines+markers",
                                    name=html.escape(str(row.setting)), line=dict(color=color),
                                    marker=dict(symbol=symbol, size=7),
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
    figure, looks = go.Figure(), setting_looks(tidy)
    for setting, part in tidy.groupby("setting", sort=False):
        name = html.escape(str(setting))
        dash = "dot" if setting == TRANSFORMERS_SETTING else None
        color, symbol = looks[setting]
        figure.add_trace(go.Scatter(x=part["bucket"], y=part["accuracy"], mode="lines+markers", name=name,
                                    line=dict(color=color, dash=dash), marker=dict(symbol=symbol, size=7),
                                    hovertemplate=name + ": accuracy %{y:.3f} at %{x} tokens<extra></extra>"))
    styled(figure, "Accuracy by text length", "Tokens read (bucket)", "Accuracy")
    figure.update_layout(legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02))
    return figure


def learned_values_figure(rows: pd.DataFrame) -> go.Figure | None:
    """LTP thresholds and TS-DTP offsets per layer (one panel each); None when no setting learned any."""
    values = learned_values(rows)
    if values.empty:
        return None
    looks = {html.escape(str(setting)): look for setting, look in setting_looks(values).items()}
    values = values.assign(kind=values["kind"].map({"threshold": "LTP threshold (attention received)",
                                                    "offset": "TS-DTP offset (standard deviations)"}),
                           setting=values["setting"].map(lambda s: html.escape(str(s))))
    figure = px.line(values, x="layer", y="value", color="setting", symbol="setting", facet_col="kind", markers=True,
                     facet_col_spacing=0.08, color_discrete_map={name: look[0] for name, look in looks.items()},
                     symbol_map={name: look[1] for name, look in looks.items()})
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
