"""The Classroom page's projector view: one layer at a time in very large type, and the guessing game's score.

Words fade as they are dropped: kept ones bold, the ones dropped at this layer struck and fading, those dropped
earlier faint. Every text from the user or a model is escaped here. Styles only, no script.
"""
from __future__ import annotations

import html
from typing import Sequence

from pruning_core.render import display_units, unit_state
from pruning_core.trace import ExampleTrace

STYLE = """<style>
.tpc-head { display: flex; flex-wrap: wrap; gap: 1rem 3rem; align-items: baseline; margin: 0 0 1rem; }
.tpc-step { font-size: 2rem; font-weight: 700; color: #334155; }
.tpc-count { font-size: 4.5rem; font-weight: 800; line-height: 1; color: #1d4ed8; }
.tpc-count small, .tpc-answer small { font-size: 1.6rem; font-weight: 500; color: #475569; }
.tpc-answer { font-size: 2.6rem; font-weight: 700; color: #0f172a; }
.tpc-words { font-size: 2.8rem; line-height: 1.55; word-spacing: 0.3rem; overflow-wrap: anywhere; }
.tpc-kept { font-weight: 800; color: #0f172a; }
.tpc-dropped { color: #dc2626; text-decoration: line-through; text-decoration-thickness: 0.2rem;
               animation: tpc-fade 1.4s ease-out forwards; }
.tpc-gone { color: #94a3b8; opacity: 0.35; }
@keyframes tpc-fade { from { opacity: 1; } to { opacity: 0.55; } }
@media (prefers-reduced-motion: reduce) { .tpc-dropped { animation: none; opacity: 0.55; } }
.tpc-score { display: flex; flex-wrap: wrap; gap: 1rem 3rem; align-items: baseline; font-size: 1.8rem; }
.tpc-score b { font-size: 4rem; color: #1d4ed8; }
.tpc-list { font-size: 1.8rem; margin: 0.6rem 0; }
.tpc-list span { font-weight: 700; }
/* the page's pills (the game's words) and layer picker, readable from the back of the room */
[data-testid="stButtonGroup"] button p { font-size: 1.5rem; }
</style>"""


def step_label(step: int, layers: int) -> str:
    """Step 0 is the input; step l shows what is left after layer l."""
    return "Input" if step == 0 else f"Layer {step} of {layers}"


def header_html(step: int, layers: int, left: int, total: int, answer: str, probability: float) -> str:
    """The step, a large counter of the tokens left, and the model's answer with its confidence."""
    return (f'{STYLE}<div class="tpc-head"><div class="tpc-step">{step_label(step, layers)}</div>'
            f'<div class="tpc-count">{left} <small>of {total} tokens left</small></div>'
            f'<div class="tpc-answer"><small>The model says</small> {html.escape(answer)} '
            f'<small>{probability:.0%} sure</small></div></div>')


def words_html(trace: ExampleTrace, step: int) -> str:
    """The text's words at one step, in very large type: kept bold, dropped at this layer struck, earlier faint."""
    spans = []
    for item in display_units(trace, "words"):
        state = "kept" if step == 0 else unit_state(trace, item.positions, step - 1)
        spans.append(f'<span class="tpc-{state}">{html.escape(item.text)}</span>')
    return f'{STYLE}<div class="tpc-words" dir="auto">{" ".join(spans)}</div>'


def score_html(overlap: float, precision: float | None, recall: float | None, dropped: Sequence[str],
               missed: Sequence[str]) -> str:
    """A round's score: the overlap of the guess and the words the classifier read, and the words that surprised
    the class."""
    def share(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    def listed(words: Sequence[str]) -> str:
        return ", ".join(f"<span>{html.escape(word)}</span>" for word in words) or "none"
    return (f'{STYLE}<div class="tpc-score"><div>Overlap <b>{overlap:.0%}</b></div>'
            f'<div>Right guesses {share(precision)}</div><div>Words read found {share(recall)}</div></div>'
            f'<div class="tpc-list">Guessed, but dropped before the last layer: {listed(dropped)}</div>'
            f'<div class="tpc-list">Read by the classifier, but nobody guessed them: {listed(missed)}</div>')
