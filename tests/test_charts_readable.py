"""Accuracy vs speed reads at a glance (issue #30): point labels do not overlap (only the references and the Pareto
front are named, where their names fit), and each method's settings are told apart by shade and marker, the method's
colour coming from one table."""
from __future__ import annotations

import colorsys
import json

import pandas as pd
import pytest

from app_data import benchmark_rows
from dashboard.figures import tradeoff
from dashboard.tradeoff import mark_front

LTP_SETTINGS = [f"ltp-calibrated x{scale:.2f}" for scale in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)]


def crowded_sweep() -> pd.DataFrame:
    """References, four top-k settings and six LTP settings a few examples per second apart, as real sweeps are."""
    template = benchmark_rows("imdb", with_ts_dtp=True).assign(dataset="imdb").iloc[0]
    rows = [("unpruned", "none", 0.888, 100), ("control", "none", 0.889, 101)]
    rows += [(name, "ltp", 0.886 - 0.002 * i, 118 + 2 * i) for i, name in enumerate(LTP_SETTINGS)]
    rows += [(f"topk-{keep}", "topk", accuracy, speed)
             for keep, accuracy, speed in ((0.7, 0.878, 122), (0.5, 0.866, 150), (0.3, 0.839, 190), (0.15, 0.79, 228))]
    records = []
    for setting, method, accuracy, speed in rows:
        record = template.copy()
        record[["setting", "method", "accuracy", "throughput_b32"]] = setting, method, accuracy, float(speed)
        record["flops"] = 2.2e9 * 100 / speed
        record["keep_fraction"], record["mean_kept"] = [1.0, 0.8, 0.6, 0.5], [18.0, 14.0, 11.0, 9.0]
        records.append(record)
    return pd.DataFrame(records).reset_index(drop=True)


def hue(color: str) -> float:
    return colorsys.rgb_to_hls(*(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]


def points(figure) -> list[dict]:
    """Every dot of the scatter: its setting, position, marker colour and symbol, and its label (text, place)."""
    found = []
    for trace in figure.data:
        if trace.mode != "markers+text":
            continue
        colors, symbols = trace.marker.color, trace.marker.symbol
        for i, (x, y) in enumerate(zip(trace.x, trace.y)):
            place = trace.textposition[i] if isinstance(trace.textposition, tuple) else trace.textposition
            found.append({"setting": trace.customdata[i][3], "x": x, "y": y, "label": trace.text[i], "place": place,
                          "color": colors[i] if isinstance(colors, tuple) else colors,
                          "symbol": symbols[i] if isinstance(symbols, tuple) else symbols})
    return found


def label_box(point: dict, x_pixels: float, y_pixels: float) -> tuple[float, float, float, float]:
    """The label's box in pixels at the plot's usual size (6.6 px a character, 15 px a line, 8 px to the marker)."""
    x, y, width, line, gap = point["x"] * x_pixels, point["y"] * y_pixels, 6.6 * len(point["label"]), 15.0, 8.0
    return {"top center": (x - width / 2, x + width / 2, y + gap, y + gap + line),
            "bottom center": (x - width / 2, x + width / 2, y - gap - line, y - gap),
            "middle right": (x + gap, x + gap + width, y - line / 2, y + line / 2),
            "middle left": (x - gap - width, x - gap, y - line / 2, y + line / 2)}[point["place"]]


@pytest.mark.parametrize("x", ["throughput_b32", "flops"])
def test_only_references_and_the_front_are_named_and_no_two_names_overlap(x):
    rows = crowded_sweep()
    figure = tradeoff.tradeoff_figure(rows, x)
    dots = points(figure)
    front = set(mark_front(rows, x, "accuracy").query("pareto")["setting"])
    named = [dot for dot in dots if dot["label"]]
    assert {dot["setting"] for dot in named} <= front | {"unpruned", "control"}
    assert len(named) >= 3, "the chart still names its landmarks"
    assert len([dot for dot in named if dot["setting"] in LTP_SETTINGS]) < len(LTP_SETTINGS), "crowded: hover"
    xs, ys = [dot["x"] for dot in dots], [dot["y"] for dot in dots]
    x_pixels, y_pixels = 520 / (1.12 * (max(xs) - min(xs))), 290 / (1.12 * (max(ys) - min(ys)))
    boxes = [label_box(dot, x_pixels, y_pixels) for dot in named]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]), (a, b)
    hover = json.dumps(figure.to_plotly_json()["data"], default=str)
    assert all(name in hover for name in LTP_SETTINGS), "every setting is named on hover"


def test_each_methods_settings_have_their_own_shade_and_marker_in_its_colour():
    figure = tradeoff.tradeoff_figure(crowded_sweep(), "throughput_b32")
    dots = {dot["setting"]: dot for dot in points(figure)}
    ltp = [(dots[name]["color"], dots[name]["symbol"]) for name in LTP_SETTINGS]
    assert len({color for color, _ in ltp}) == 6 and len({symbol for _, symbol in ltp}) == 6
    assert all(hue(color) == pytest.approx(hue(tradeoff.METHOD_COLORS["ltp"]), abs=0.02) for color, _ in ltp)
    topk = {dots[f"topk-{keep}"]["color"] for keep in (0.7, 0.5, 0.3, 0.15)}
    assert len(topk) == 4 and all(hue(color) == pytest.approx(hue(tradeoff.METHOD_COLORS["topk"]), abs=0.02)
                                  for color in topk)


def test_the_line_charts_use_the_same_looks_one_per_setting():
    rows = crowded_sweep()
    looks = tradeoff.setting_looks(rows)
    kept = {trace.name: (trace.line.color, trace.marker.symbol) for trace in tradeoff.mean_kept_figure(rows).data}
    assert kept == looks and len(set(kept.values())) == len(rows)
    learned = benchmark_rows("imdb", with_ts_dtp=True)
    lines = {trace.name: trace.line.color for trace in tradeoff.learned_values_figure(learned).data}
    assert lines["ltp-x1.0"] != lines["ltp-x2.0"]
    assert lines == {name: look[0] for name, look in tradeoff.setting_looks(learned).items() if name in lines}


def test_shades_and_label_places_refuse_what_they_cannot_use():
    assert len(set(tradeoff.shades("#2563eb", 12))) == 12 and tradeoff.shades("#2563eb", 1) == ["#2563eb"]
    with pytest.raises(ValueError, match="count must be at least 1, got 0"):
        tradeoff.shades("#2563eb", 0)
    with pytest.raises(ValueError, match="one entry per point, got 2, 1 and 2"):
        tradeoff.label_places([1, 2], [1], ["a", "b"], [0])
    assert tradeoff.label_places([1.0, float("nan")], [0.5, 0.5], ["a", "b"], [0, 1]) == ["top center", None]
