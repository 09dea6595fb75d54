"""The "your text was cut" notice: given when the tokenizer dropped tokens at the length limit (its own overflow), or
when the app's character cap cut the text, and never for characters that make no token (zero-width, control)."""
from __future__ import annotations

import pytest

from conftest import make_bert, make_tokenizer
from dashboard.live import MAX_INPUT_CHARS, classify_live
from pruning_core.methods import NoPruning
from pruning_core.text import PrunedTextClassifier

# Texts that end in characters the tokenizer turns into no token at all: nothing of them is left unread.
UNTOKENIZED_ENDINGS = ["great film\u200b\u200b", "ok\x00\x07", "the movie was fun \u200d\ufeff\x7f",
                       "a great story\u200b" + "\x00" * 50]


@pytest.fixture
def classifier() -> PrunedTextClassifier:
    return PrunedTextClassifier(make_bert(), make_tokenizer(), NoPruning())


@pytest.mark.parametrize("text", UNTOKENIZED_ENDINGS)
def test_a_text_ending_in_characters_that_make_no_token_is_not_cut(classifier, text):
    trace = classifier.trace([text])[0]
    assert trace.tokens[-1] == "[SEP]" and max(end for _, end in trace.offsets) < len(text.rstrip())
    assert not trace.truncated
    assert classify_live(classifier, NoPruning(), text).notices == ()


def test_tokens_past_max_length_are_cut_and_not_one_before(classifier):
    words = "the movie was great and fun".split()
    exactly = " ".join(words[i % len(words)] for i in range(14))      # 14 words + CLS + SEP = 16 tokens
    one_more = exactly + " story"
    fits, cut = classifier.trace([exactly + "\u200b\x00", one_more], max_length=16)   # the ending makes no token
    assert len(fits.tokens) == 16 and not fits.truncated
    assert len(cut.tokens) == 16 and cut.truncated and "story" not in cut.tokens
    result = classify_live(classifier, NoPruning(), one_more + "\u200b", max_length=16)
    assert len(result.notices) == 1 and "at most 16 tokens" in result.notices[0]


def test_a_long_text_cut_by_tokens_in_a_padded_batch_is_told_apart_from_its_neighbours(classifier):
    long_text = "the movie was great and the plot was fun . " * 40
    traces = classifier.trace(["great film\u200b", long_text, "ok\x07"], max_length=32)
    assert [trace.truncated for trace in traces] == [False, True, False]


def test_characters_cut_by_the_app_cap_get_their_own_honest_notice(classifier):
    text = "a" * (MAX_INPUT_CHARS + 10)       # one enormous word: one [UNK] token, far under the token limit
    result = classify_live(classifier, NoPruning(), text)
    assert not result.trace.truncated
    assert result.notices == (f"Your text has {MAX_INPUT_CHARS + 10:,} characters. This app reads at most the first "
                              f"{MAX_INPUT_CHARS:,} characters of a text, so the last 10 were not classified.",)
