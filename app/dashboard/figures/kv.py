"""The KV cache page's pictures: the context coloured by how much of the cache kept each token (escaped HTML, in
the token view's style), heat maps of key-value heads or layers against context tokens, and the tokens each layer
kept. Long contexts stay readable: the text wraps in a scrolling box, heat maps average neighbouring tokens.
"""
from __future__ import annotations

import html
import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from pruning_core.generation import GenerationTrace
from pruning_core.render import STYLE

from ..kv import Piece, context_pieces, in_cache
from .charts import BLUE, GREY, styled

MAX_COLUMNS = 300     # heat map columns at most: a longer context averages neighbouring tokens into one column
KV_STYLE = """<style>
.kv-context { white-space: pre-wrap; max-height: 28rem; overflow-y: auto; padding: 0.3rem 0.2rem;
              border: 1px solid #e2e8f0; border-radius: 0.4rem; }
.kv-out { color: #94a3b8; }
.kv-answer { white-space: pre-wrap; font-size: 1rem; padding: 0.5rem 0.7rem; background: #f8fafc;
             border-left: 3px solid #2563eb; border-radius: 0.3rem; min-height: 2.4rem; }
</style>"""
CONTEXT_CAPTION = ("The context as the model read it, each token coloured by how much of the cache kept it (hover for "
                   "the count). Tokens in small monospace come from the chat template, outside your text; they are "
                   "pressed too, and attention sinks often sit there.")
HEADS_CAPTION = ("Each cell is one key-value head (rows) and one context token (columns): dark cells are in the "
                 "cache. A long context averages neighbouring tokens into one column.")


def answer_html(answer: str) -> str:
    """An answer, escaped, in a box that keeps its line breaks."""
    shown = html.escape(answer) if answer.strip() else "<i>(no answer: the first token ended it)</i>"
    return f'{KV_STYLE}<div class="kv-answer" dir="auto">{shown}</div>'


def _look(share: float) -> tuple[str, str]:
    """The class and inline style of a token kept by `share` (0 to 1) of the cache, as the token view colours."""
    if share <= 0:
        return "tpl-tok kv-out", ""
    strength = 0.12 + 0.73 * min(1.0, share)
    ink = "#fff" if strength > 0.5 else "#0f172a"
    return "tpl-tok", f' style="background:rgba(37,99,235,{strength:.2f});color:{ink}"'


def context_html(pieces: Sequence[Piece], shares: np.ndarray, notes: Sequence[str]) -> str:
    """The context's tokens coloured by `shares` (C,) in [0, 1], each with its hover note; everything escaped."""
    if not len(pieces) == len(shares) == len(notes):
        raise ValueError(f"pieces, shares and notes must be as long, got {len(pieces)}, {len(shares)}, {len(notes)}.")
    chips = []
    for piece, share, note in zip(pieces, shares, notes):
        classes, style = _look(float(share))
        text = piece.text or "·"
        if piece.special:
            classes += " tpl-special"
        gap = " " if piece.special else piece.gap
        chips.append(f'{html.escape(gap)}<span class="{classes}"{style} title="{html.escape(note, quote=True)}">'
                     f'{html.escape(text)}</span>')
    return f'{STYLE}{KV_STYLE}<div class="tpl-tokens kv-context" dir="auto">{"".join(chips)}</div>'


def trace_context_html(trace: GenerationTrace, shares: np.ndarray, notes: Sequence[str]) -> str:
    return context_html(context_pieces(trace), shares, notes)


def context_legend(layer: int | None) -> str:
    """What the colours mean: shares of layers (no layer chosen) or of one layer's key-value heads."""
    whole = "layers" if layer is None else f"layer {layer + 1}'s key-value heads"
    levels = ((0.0, f"in none of the {whole} (evicted)"), (0.34, "in some"), (1.0, f"in all the {whole}"))
    items = []
    for share, label in levels:
        classes, style = _look(share)
        items.append(f'<span><span class="{classes}"{style}>token</span> {html.escape(label)}</span>')
    return f'{STYLE}{KV_STYLE}<div class="tpl-legend">{"".join(items)}</div>'


def binned(matrix: np.ndarray, max_columns: int = MAX_COLUMNS) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(R, C) -> (R, n ≤ max_columns) the mean of each run of neighbouring columns, and each run's (first, last)."""
    if max_columns < 1:
        raise ValueError(f"max_columns must be a whole number ≥ 1, got {max_columns!r}.")
    rows, columns = matrix.shape
    width = max(1, math.ceil(columns / max_columns))
    spans = [(start, min(start + width, columns) - 1) for start in range(0, columns, width)]
    means = np.stack([matrix[:, first:last + 1].mean(axis=1) for first, last in spans], axis=1) if spans \
        else np.zeros((rows, 0))
    return means, spans


def _heat_map(matrix: np.ndarray, row_names: list[str], trace: GenerationTrace, title: str, y_title: str) -> go.Figure:
    """Rows × context tokens, 0 (evicted) to 1 (kept), hover naming the token or the run of tokens."""
    means, spans = binned(matrix.astype(float))
    pieces = context_pieces(trace)
    labels = [html.escape(pieces[first].text.strip() or "·") if first == last else f"tokens {first}–{last}"
              for first, last in spans]
    hover = np.array([[f"{name} · {label}" for label in labels] for name in row_names], dtype=object)
    figure = go.Figure(go.Heatmap(z=means, x=[first for first, _ in spans], y=row_names, customdata=hover,
                                  colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title="in cache", tickformat=".0%"),
                                  hovertemplate="%{customdata}: %{z:.0%} in the cache<extra></extra>"))
    styled(figure, title, "Context token (position)", y_title)
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(height=max(220, 110 + 26 * len(row_names)))
    return figure


def heads_figure(trace: GenerationTrace, layer: int, step: int = 0) -> go.Figure:
    """Key-value heads × context tokens at one layer: which tokens each head holds."""
    cache = in_cache(trace, step)
    if not 0 <= layer < cache.shape[0]:
        raise ValueError(f"layer must be in [0, {cache.shape[0] - 1}], got {layer!r}.")
    names = [f"head {head + 1}" for head in range(cache.shape[1])]
    return _heat_map(cache[layer], names, trace, f"Layer {layer + 1}: the tokens each key-value head holds",
                     "Key-value head")


def layers_figure(trace: GenerationTrace, head: int, step: int = 0) -> go.Figure:
    """Layers × context tokens for one key-value head."""
    cache = in_cache(trace, step)
    if not 0 <= head < cache.shape[1]:
        raise ValueError(f"head must be in [0, {cache.shape[1] - 1}], got {head!r}.")
    names = [f"layer {layer + 1}" for layer in range(cache.shape[0])]
    return _heat_map(cache[:, head], names, trace, f"Key-value head {head + 1}: the tokens each layer holds", "Layer")


def layer_counts_figure(trace: GenerationTrace) -> go.Figure:
    """Bars: context tokens each layer kept after the press, against the context's length."""
    counts = trace.kept_per_layer
    labels = [str(layer + 1) for layer in range(len(counts))]
    figure = go.Figure(go.Bar(x=labels, y=counts, marker_color=BLUE, name="kept",
                              hovertemplate="layer %{x}: %{y} tokens kept<extra></extra>"))
    figure.add_hline(y=trace.context_length, line=dict(color=GREY, dash="dash"),
                     annotation_text=f"context: {trace.context_length} tokens", annotation_position="top left")
    figure.update_xaxes(type="category")
    figure.update_yaxes(rangemode="tozero")
    return styled(figure, "Context tokens each layer kept", "Layer", "Tokens")


# --- the stored benchmark (pipelines.kv) ---------------------------------------------------------------------

PRESS_COLOURS = {"streaming": "#0891b2", "h2o": "#d97706", "snapkv": "#2563eb", "tova": "#7c3aed",
                 "pyramid": "#16a34a", "random": "#94a3b8"}
BUDGET_CAPTION = ("Each line is a press: its accuracy on the same examples as the share of the context it keeps "
                  "grows; the dashed line is the full cache. Hover for the number of examples and the interval.")
SPEED_CAPTION = ("Each dot is a press at one budget (the label): accuracy against how much faster it decodes than the "
                 "full cache at the timed context, measured side by side on the CPU the sweep names.")
POS_CAPTION = ("The share of each part of speech's context tokens the press kept (averaged over layers and key-value "
               "heads), on the sampled IMDb reviews: does a press keep nouns, or punctuation and sinks?")


def budget_figure(rows, task_title: str, metric: str) -> go.Figure:
    """Lines: each press's accuracy (or exact match) against the share of the context kept; the full cache dashed."""
    figure = go.Figure()
    full = rows[rows["press"] == "full"]
    for press, group in rows[rows["press"] != "full"].groupby("press", sort=False):
        group = group.sort_values("budget")
        figure.add_trace(go.Scatter(x=group["budget"], y=group["accuracy"], mode="lines+markers", name=press,
                                    line=dict(color=PRESS_COLOURS.get(press, GREY)), customdata=group["n"],
                                    hovertemplate=f"{press}: %{{y:.1%}} at %{{x:.0%}} kept"
                                                  "<br>%{customdata} examples<extra></extra>"))
    if len(full):
        figure.add_hline(y=float(full["accuracy"].iloc[0]), line_dash="dash", line_color=GREY,
                         annotation_text="full cache", annotation_position="bottom right")
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return styled(figure, f"{task_title}: {metric} against the cache kept", "Share of the context kept", metric)


def speed_figure(points, task_title: str, metric: str, context: int) -> go.Figure:
    """Dots: accuracy against decode speed-up over the full cache at one context length, labelled by budget."""
    figure = go.Figure()
    for press, group in points.groupby("press", sort=False):
        colour = GREY if press == "full" else PRESS_COLOURS.get(press, GREY)
        figure.add_trace(go.Scatter(x=group["speedup"], y=group["accuracy"], mode="markers+text", name=press,
                                    text=[f"{b:.0%}" for b in group["budget"]], textposition="top center",
                                    marker=dict(color=colour, size=9),
                                    hovertemplate=f"{press} at %{{text}} kept: %{{y:.1%}}, %{{x:.2f}}× decode speed"
                                                  "<extra></extra>"))
    figure.update_xaxes(ticksuffix="×")
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return styled(figure, f"{task_title}: {metric} against decode speed at {context:,} context tokens",
                  "Decode speed-up over the full cache", metric)


def pos_figure(shares) -> go.Figure:
    """Grouped bars: kept share per part of speech (rows: category, press, share), one colour per press."""
    figure = go.Figure()
    for press, group in shares.groupby("press", sort=False):
        figure.add_trace(go.Bar(x=group["category"], y=group["share"], name=press,
                                marker_color=PRESS_COLOURS.get(press, GREY), customdata=group["total"],
                                hovertemplate=f"{press}: %{{y:.0%}} of %{{customdata}} %{{x}} tokens kept"
                                              "<extra></extra>"))
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    figure.update_layout(barmode="group")
    return styled(figure, "Kept share of the context by part of speech", "Part of speech", "Share kept")
