"""HTML of a trace, as plain strings: the per-layer token view (the dashboard's Live text, Embeddings and Compare,
and exports) and what a notebook shows for an `ExampleTrace` (`trace_html`, its `_repr_html_`).

Everything taken from the text or the tokenizer is HTML-escaped here, so a typed `<script>` shows
as text. Tokens are plain inline spans separated by spaces inside a `dir="auto"` row, so the
browser's bidi algorithm orders right-to-left words as it would the typed text (flex items or
inline-blocks would pin them left to right). Hovering a token shows its score against the layer's
threshold. No Streamlit, no plotting library: the library renders in a notebook on its own.

It reads a trace's fields and never imports the trace module (trace.py imports this one), so there is no circle.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # the trace imports this module for its notebook view: the type is named, never imported
    from .trace import ExampleTrace

UNITS = ("words", "subwords")

STYLE = """<style>
.tpl-legend, .tpl-view { font-size: 0.95rem; }
.tpl-legend { display: flex; flex-wrap: wrap; gap: 0.9rem; margin: 0 0 0.6rem; color: #475569; font-size: 0.85rem; }
.tpl-row { display: flex; gap: 0.8rem; align-items: flex-start; padding: 0.4rem 0; border-bottom: 1px solid #e2e8f0; }
.tpl-layer { flex: 0 0 7.5rem; color: #334155; font-size: 0.85rem; line-height: 1.35; padding-top: 0.2rem; }
.tpl-layer b { display: block; font-size: 0.95rem; color: #0f172a; }
.tpl-tokens { flex: 1; line-height: 2.15; word-spacing: 0.15rem; }
.tpl-tok { padding: 0.12rem 0.32rem; border-radius: 0.3rem; overflow-wrap: anywhere; cursor: default;
           border: 1px solid transparent; word-spacing: normal; -webkit-box-decoration-break: clone;
           box-decoration-break: clone; }
.tpl-piece { border-left: 1px dotted #64748b; }
.tpl-kept { border-color: #93c5fd; }
.tpl-dropped { background: #fee2e2; color: #b91c1c; text-decoration: line-through; border-color: #fecaca; }
.tpl-gone { color: #94a3b8; text-decoration: line-through; opacity: 0.6; }
.tpl-special { font-family: ui-monospace, monospace; font-size: 0.8rem; }
</style>"""

LEGEND = ('<div class="tpl-legend"><span><span class="tpl-tok tpl-kept" style="background:rgba(37,99,235,.55);'
          'color:#fff">kept</span> darker = higher score</span>'
          '<span><span class="tpl-tok tpl-dropped">dropped</span> removed at this layer</span>'
          '<span><span class="tpl-tok tpl-gone">gone</span> removed at an earlier layer</span>'
          '<span>Hover a token for its score and the layer\'s threshold.</span></div>')


@dataclass
class Unit:
    """What one chip shows: a word or a sub-word piece, with the token positions behind it."""

    text: str
    positions: list[int]
    special: bool = False     # [CLS], [SEP] and the like
    continues: bool = False   # a sub-word piece glued to the previous one


def display_units(trace: ExampleTrace, unit: str = "words") -> list[Unit]:
    """Words (special tokens left out) or sub-word pieces, each shown with the characters typed."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}.")
    if unit == "words":
        return [Unit(word.text, word.token_positions) for word in trace.words()]
    units = []
    for position, token in enumerate(trace.tokens):
        word = trace.word_ids[position] if trace.word_ids else None
        start, end = trace.offsets[position] if trace.offsets else (0, 0)
        text = trace.text[start:end] if trace.text and end > start else token
        continues = word is not None and position > 0 and trace.word_ids[position - 1] == word
        units.append(Unit(text, [position], special=word is None, continues=continues))
    return units


def layer_cutoff(trace: ExampleTrace, layer: int) -> tuple[float | None, str]:
    """The layer's threshold, or for methods without one (top-k) the lowest score that survived."""
    threshold = trace.thresholds[layer] if layer < len(trace.thresholds) else None
    if threshold is not None:
        return float(threshold), "threshold"
    scores, kept = trace.scores[layer], trace.kept[layer].copy()
    kept[0] = False   # CLS is kept whatever its score
    dropped_here = ~kept & ~np.isnan(scores)
    dropped_here[0] = False
    if not dropped_here.any() or not kept.any():
        return None, "cut-off"
    return float(scores[kept].min()), "cut-off (lowest kept score)"


def legend_html() -> str:
    """The legend alone (with the style), for a page showing several layer views under one legend."""
    return f"{STYLE}{LEGEND}"


def layer_view_html(trace: ExampleTrace, unit: str = "words", hide_gone: bool = False, legend: bool = True) -> str:
    """Self-contained HTML (style, legend unless told not, one row per layer) for st.html; the last row also says
    how many tokens the classifier read (those alive on entry to it)."""
    units = display_units(trace, unit)
    counts = trace.keep_counts
    before = [len(trace.tokens), *counts[:-1]]
    rows = []
    for layer in range(trace.num_layers):
        cutoff = layer_cutoff(trace, layer)
        strongest = _strongest(trace, layer)
        chips = "".join(("" if item.continues else " ") + chip for item in units
                        if (chip := _chip(trace, item, layer, cutoff, strongest, hide_gone)))
        read = f"<br>{trace.read_count} read by the classifier" if layer == trace.num_layers - 1 else ""
        rows.append(f'<div class="tpl-row"><div class="tpl-layer"><b>Layer {layer + 1}</b>'
                    f'{counts[layer]} of {before[layer]} tokens kept{read}</div>'
                    f'<div class="tpl-tokens" dir="auto">{chips.strip()}</div></div>')
    return f'{STYLE}{LEGEND if legend else ""}<div class="tpl-view">{"".join(rows)}</div>'


def _strongest(trace: ExampleTrace, layer: int) -> float:
    """The highest score among the layer's ordinary tokens, to scale highlight strength."""
    ordinary = [p for p, word in enumerate(trace.word_ids) if word is not None] if trace.word_ids else []
    values = trace.scores[layer, ordinary] if ordinary else trace.scores[layer]
    finite = values[~np.isnan(values)]
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def unit_state(trace: ExampleTrace, positions: list[int], layer: int) -> str:
    """"kept" when the unit goes on past `layer`, "dropped" when removed there, "gone" when removed before (a word
    lives while any of its pieces does)."""
    if bool(trace.kept[layer, positions].any()):
        return "kept"
    return "dropped" if layer == 0 or bool(trace.kept[layer - 1, positions].any()) else "gone"


def _chip(trace: ExampleTrace, item: Unit, layer: int, cutoff: tuple[float | None, str], strongest: float,
          hide_gone: bool) -> str:
    positions = item.positions
    state = unit_state(trace, positions, layer)
    if hide_gone and state == "gone":
        return ""
    kept, present = state == "kept", state != "gone"
    score = _max_score(trace.scores[layer, positions])
    classes = ["tpl-tok", f"tpl-{state}"]
    classes += ["tpl-special"] * item.special + ["tpl-piece"] * item.continues
    style = ""
    if kept:
        strength = 0.12 + 0.73 * min(1.0, max(0.0, score / strongest)) if not math.isnan(score) else 0.12
        style = f' style="background:rgba(37,99,235,{strength:.2f});color:{"#fff" if strength > 0.5 else "#0f172a"}"'
    title = html.escape(_hover(trace, item, layer, kept, present, score, cutoff), quote=True)
    return f'<span class="{" ".join(classes)}"{style} title="{title}">{html.escape(item.text)}</span>'


def _hover(trace: ExampleTrace, item: Unit, layer: int, kept: bool, present: bool, score: float,
           cutoff: tuple[float | None, str]) -> str:
    name = f"“{item.text}”"
    if not present:
        gone_at = int(trace.drop_layer[item.positions].max()) + 1
        return f"{name}: removed at layer {gone_at}"
    value, kind = cutoff
    against = "" if value is None else f" vs {kind} {value:.3g}"
    verdict = "kept" if kept else "removed here"
    if item.special and item.positions == [0]:
        verdict = "kept (CLS is always kept)"
    return f"{name} at layer {layer + 1}: score {score:.3g}{against}, {verdict}"


def _max_score(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.max()) if finite.size else float("nan")


# --- a whole trace, as a notebook shows it ----------------------------------------------------------------------

TRACE_STYLE = """<style>
.tpl-answer { font-size: 1rem; margin: 0 0 0.5rem; color: #0f172a; }
.tpl-grids { display: flex; flex-wrap: wrap; gap: 0.9rem; }
.tpl-grid { display: grid; gap: 1px; width: 7.5rem; background: #fff; }
.tpl-grid-cell { aspect-ratio: 1; background: #2563eb; }
.tpl-grid-gone { background: #e2e8f0; }
.tpl-grid-caption { font-size: 0.8rem; color: #334155; margin-top: 0.2rem; }
</style>"""


def answer_parts(trace: ExampleTrace) -> tuple[str, str]:
    """The model's answer, and its probability with the tokens the classifier read: ("positive", "72.0% · 9 of 17
    tokens read by the classifier (alive on entry to the last layer)")."""
    read = trace.read_count if trace.num_layers else len(trace.tokens)
    return (str(trace.predicted_name), f"{trace.probability:.1%} · {read} of {len(trace.tokens)} tokens read by the "
                                       "classifier (alive on entry to the last layer)")


def answer_html(trace: ExampleTrace) -> str:
    """The answer line, escaped (label names come from a model's config)."""
    name, rest = answer_parts(trace)
    return f'<div class="tpl-answer"><b>{html.escape(name)}</b> {html.escape(rest)}</div>'


def patch_grids_html(trace: ExampleTrace) -> str:
    """Images: one small grid of patches per layer, kept ones blue, dropped ones grey."""
    rows, cols = trace.grid
    total, grids = len(trace.tokens), []
    for layer, count in enumerate(trace.keep_counts):
        cells = "".join(f'<div class="tpl-grid-cell{"" if alive else " tpl-grid-gone"}"></div>'
                        for alive in trace.patch_mask(layer).ravel())
        grids.append(f'<div><div class="tpl-grid" style="grid-template-columns:repeat({cols},1fr)">{cells}</div>'
                     f'<div class="tpl-grid-caption">layer {layer + 1} · {count}/{total}</div></div>')
    return f'<div class="tpl-grids">{"".join(grids)}</div>'


def trace_html(trace: ExampleTrace, unit: str | None = None, hide_gone: bool = False) -> str:
    """The answer, then the layers: token rows for a text (words, or tokens one by one for a trace built without
    word ids), patch grids for a picture. What a notebook shows for a trace, and what the HTML export holds."""
    if trace.grid is not None:
        layers = patch_grids_html(trace)
    else:
        layers = layer_view_html(trace, unit or ("words" if trace.word_ids else "subwords"), hide_gone)
    return TRACE_STYLE + answer_html(trace) + layers
