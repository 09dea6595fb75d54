"""The per-layer token view and the Live text figures."""
from __future__ import annotations

import math
import re

import pytest

from conftest import make_bert, make_tokenizer
from lens_helpers import word_trace
from pruning_core.methods import TopK
from pruning_core.text import PrunedTextClassifier
from dashboard.figures import display_units, layer_cutoff, layer_view_html, score_figure, token_count_figure
from pruning_core.render import answer_parts


def _rows(html: str) -> list[str]:
    return html.split('<div class="tpl-row">')[1:]


def _chip(row: str, text: str) -> str:
    match = re.search(r'<span class="(tpl-tok[^"]*)"[^>]*>' + re.escape(text) + "</span>", row)
    assert match, f"no chip {text!r} in row"
    return match.group(1)


def test_each_layer_marks_kept_dropped_and_gone_tokens():
    trace = word_trace(["best", "restaurant", "ever"], kept=[[True, True, False], [True, False, False]])
    rows = _rows(layer_view_html(trace))
    assert len(rows) == 2
    assert "tpl-kept" in _chip(rows[0], "best") and "tpl-dropped" in _chip(rows[0], "ever")
    assert "tpl-dropped" in _chip(rows[1], "restaurant")
    assert "tpl-gone" in _chip(rows[1], "ever")
    assert "3 of 5 tokens kept" in rows[0] and "2 of 3 tokens kept" in rows[1]   # CLS counts, SEP dropped at 1


def test_the_answer_and_the_last_row_count_the_tokens_the_classifier_read():
    """The last layer drops "restaurant": the classifier read it all the same (alive on entry to the last layer)."""
    trace = word_trace(["best", "restaurant", "ever"], kept=[[True, True, False], [True, False, False]])
    name, rest = answer_parts(trace)
    assert name == "positive"
    assert rest == "70.0% · 3 of 5 tokens read by the classifier (alive on entry to the last layer)"
    rows = _rows(layer_view_html(trace))
    assert "read by the classifier" not in rows[0] and "2 of 3 tokens kept<br>3 read by the classifier" in rows[1]


def test_hiding_removed_tokens_leaves_only_this_layers_tokens():
    trace = word_trace(["best", "restaurant", "ever"], kept=[[True, True, False], [True, False, False]])
    second = _rows(layer_view_html(trace, hide_gone=True))[1]
    assert ">ever<" not in second and ">restaurant<" in second


def test_typed_html_is_shown_as_text_everywhere():
    trace = word_trace(['<script>alert("x")</script>', "<b>bold</b>"], kept=[[True, False]])
    html = layer_view_html(trace)
    assert "<script>alert" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    titles = re.findall(r'title="([^"]*)"', html)
    assert titles and all("<" not in title for title in titles)


def test_hover_shows_score_against_the_threshold():
    trace = word_trace(["good", "film"], kept=[[True, False]], scores=[[0.30, 0.02]], thresholds=[0.05])
    html = layer_view_html(trace)
    assert "score 0.3 vs threshold 0.05, kept" in html
    assert "score 0.02 vs threshold 0.05, removed here" in html


def test_top_k_cutoff_is_the_lowest_surviving_score():
    trace = word_trace(["a", "b", "c"], kept=[[True, False, True]], scores=[[0.4, 0.1, 0.2]])
    assert layer_cutoff(trace, 0) == (pytest.approx(0.2), "cut-off (lowest kept score)")


def test_emoji_and_right_to_left_words_keep_their_characters():
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer())
    trace = classifier.trace(["great movie 😀 שלום עולם مرحبا"])[0]
    html = layer_view_html(trace)
    for word in ("😀", "שלום", "مرحبا"):
        assert f">{word}</span>" in html
    assert html.count('dir="auto"') == trace.num_layers


def test_subwords_show_special_tokens_and_glue_pieces_to_their_word():
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer())
    trace = classifier.trace(["the actors loved it"])[0]      # actor ##s, love ##d -> unknown pieces allowed
    words = display_units(trace, "words")
    pieces = display_units(trace, "subwords")
    assert [unit.text for unit in words] == ["the", "actors", "loved", "it"]
    assert pieces[0].special and pieces[0].text == "[CLS]" and pieces[-1].text == "[SEP]"
    assert "".join(unit.text for unit in pieces if not unit.special) == "theactorslovedit"
    assert any(unit.continues for unit in pieces)                 # "actor" + "s"
    with pytest.raises(ValueError, match="unit"):
        display_units(trace, "letters")


def test_figures_have_titles_axis_labels_and_the_right_counts():
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), TopK(keep_ratios=[0.8, 0.6, 0.4, 0.2]))
    trace = classifier.trace(["this movie was great , i love the story and the music ."])[0]
    counts = token_count_figure(trace)
    assert counts.layout.title.text and counts.layout.xaxis.title.text == "Layer"
    assert counts.layout.yaxis.title.text == "Tokens"
    assert list(counts.data[0].y) == [len(trace.tokens), *trace.keep_counts]
    scores = score_figure(trace)
    assert scores.layout.title.text and scores.layout.xaxis.title.text and scores.layout.yaxis.title.text
    kept, removed = scores.data[0], scores.data[1]
    present = int((~(trace.scores != trace.scores)).sum())          # non-NaN scores
    assert len(kept.x) + len(removed.x) == present
    assert len(removed.x) == len(trace.tokens) - trace.keep_counts[-1]
    assert all(not math.isnan(value) for value in kept.y)
