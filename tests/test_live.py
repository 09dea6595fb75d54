"""Live text's logic: the method the controls describe (dashboard.controls, TEXT scope), and classifying one typed
text."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import REVIEWS, make_bert, make_tokenizer
from dashboard.figures import layer_cutoff
from dashboard.controls import TEXT, available_kinds, build, default_kind
from dashboard.live import EMPTY_HINT, MAX_INPUT_CHARS, NOTHING_READABLE_HINT, classify_live
from pruning_core.methods import LearnedTokenPruning, NoPruning, TopK, build_method, geometric_keep
from pruning_core.text import PrunedTextClassifier


@pytest.fixture
def ltp_classifier() -> PrunedTextClassifier:
    return PrunedTextClassifier(make_bert(), make_tokenizer(), LearnedTokenPruning(4, thresholds=[.6, .8, 1.0, 1.2]))


def test_threshold_scale_multiplies_the_learned_thresholds(ltp_classifier):
    own = ltp_classifier.method
    assert own.adjustment().label == "Threshold scale" and own.adjustment().default == 1.0
    method = build("own", {"adjustment": 0.5}, own, 4)
    assert method.thresholds.tolist() == pytest.approx([.3, .4, .5, .6]) and method.mode == "hard"
    assert ltp_classifier.method.thresholds.tolist() == pytest.approx([.6, .8, 1.0, 1.2])   # untouched


def test_ltp_without_learned_thresholds_uses_one_threshold_everywhere():
    method = build("ltp", {"threshold": 0.03}, NoPruning(), 3)
    assert isinstance(method, LearnedTokenPruning) and method.thresholds.tolist() == pytest.approx([.03] * 3)


def test_top_k_keep_ratio_shrinks_evenly_to_the_last_layer():
    ratios = geometric_keep(0.25, 4)
    assert ratios[-1] == pytest.approx(0.25) and ratios == sorted(ratios, reverse=True) and ratios[0] < 1
    method = build("topk", {"keep_ratio": 0.25, "score": "received"}, NoPruning(), 4)
    assert method.keep_ratios == pytest.approx(ratios) and method.score == "received"
    cascade = build("topk", {"schedule": "cascade", "r_max": 0.5, "alpha": 1.5}, NoPruning(), 4)
    assert isinstance(cascade, TopK) and (cascade.r_max, cascade.alpha) == (0.5, 1.5)


def test_own_none_and_unknown_kinds(ltp_classifier):
    assert build("own", {}, ltp_classifier.method, 4) is ltp_classifier.method
    assert isinstance(build("none", {}, ltp_classifier.method, 4), NoPruning)
    with pytest.raises(ValueError, match="Unknown pruning method 'magic'"):
        build("magic", {}, NoPruning(), 4)
    assert default_kind(TEXT, NoPruning()) == "topk" and default_kind(TEXT, ltp_classifier.method) == "own"
    assert "thresholds per layer: 0.6, 0.8, 1, 1.2" in ltp_classifier.method.describe()
    assert NoPruning().adjustment() is None and TopK(r_max=0.5).adjustment() is None


def test_classify_live_applies_the_method_without_changing_the_shared_model(ltp_classifier):
    result = classify_live(ltp_classifier, TopK(keep_ratios=[0.5] * 4), REVIEWS[0])
    counts = result.trace.keep_counts
    assert counts[-1] == len(result.trace.tokens) // 2 and result.model_ms > 0 and not result.notices
    assert isinstance(ltp_classifier.method, LearnedTokenPruning)
    full = classify_live(ltp_classifier, NoPruning(), REVIEWS[0]).trace
    assert full.keep_counts == [len(full.tokens)] * 4


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_gets_a_hint_not_an_error(ltp_classifier, text):
    result = classify_live(ltp_classifier, NoPruning(), text)
    assert result.trace is None and result.hint == EMPTY_HINT


@pytest.mark.parametrize("text", ["\u200b\u200b", "\x00\x01", "\u0301"])
def test_text_without_readable_characters_gets_a_hint(ltp_classifier, text):
    result = classify_live(ltp_classifier, NoPruning(), text)
    assert result.trace is None and result.hint == NOTHING_READABLE_HINT


def test_a_huge_text_is_cut_with_a_notice(ltp_classifier):
    text = ("the movie was great and the music was fun . " * 3000)[:100_000]
    result = classify_live(ltp_classifier, NoPruning(), text, max_length=64)
    assert len(result.trace.tokens) == 64 and result.trace.truncated
    assert len(result.notices) == 1 and "100,000 characters" in result.notices[0]
    assert "at most 64 tokens" in result.notices[0]
    assert MAX_INPUT_CHARS < 100_000


def test_one_enormous_word_is_cut_too(ltp_classifier):
    result = classify_live(ltp_classifier, NoPruning(), "a" * (MAX_INPUT_CHARS + 10))
    assert result.trace is not None and result.notices


# --- TS-DTP -----------------------------------------------------------------------------------------------

@pytest.fixture
def ts_dtp_classifier() -> PrunedTextClassifier:
    method = build_method("ts_dtp", num_layers=4, hidden_size=32, offsets=[-0.5, 0.0, 0.0, 0.3])
    return PrunedTextClassifier(make_bert(), make_tokenizer(), method)


def test_a_model_offers_its_own_method_only_when_it_prunes(ts_dtp_classifier, ltp_classifier):
    assert available_kinds(TEXT, ts_dtp_classifier.method)[0] == "own"
    assert available_kinds(TEXT, ltp_classifier.method)[0] == "own"
    assert "own" not in available_kinds(TEXT, NoPruning())
    assert default_kind(TEXT, ts_dtp_classifier.method) == "own"
    description = ts_dtp_classifier.method.describe()
    assert "TS-DTP" in description and "-0.50" in description
    assert ts_dtp_classifier.method.threshold_note and ltp_classifier.method.threshold_note is None


def test_offset_shift_moves_every_offset_of_a_copy(ts_dtp_classifier):
    own = ts_dtp_classifier.method
    assert own.adjustment().label.startswith("Offset shift")
    shifted = build("own", {"adjustment": 1.0}, own, 4)
    assert shifted is not own and shifted.offsets.tolist() == pytest.approx([0.5, 1.0, 1.0, 1.3])
    assert own.offsets.tolist() == pytest.approx([-0.5, 0.0, 0.0, 0.3])                     # untouched
    loose = classify_live(ts_dtp_classifier, own, REVIEWS[0]).trace
    strict = classify_live(ts_dtp_classifier, shifted, REVIEWS[0]).trace
    assert sum(strict.keep_counts) < sum(loose.keep_counts)


def test_ts_dtp_traces_carry_each_texts_own_thresholds(ts_dtp_classifier):
    method = ts_dtp_classifier.method
    thresholds = []
    for text in REVIEWS:
        trace = classify_live(ts_dtp_classifier, method, text).trace
        assert all(t is not None for t in trace.thresholds)
        for layer, threshold in enumerate(trace.thresholds):
            scores, kept = trace.scores[layer, 1:], trace.kept[layer, 1:]      # CLS is kept whatever its score
            present = ~np.isnan(scores)
            clear = present & (np.abs(scores - threshold) > 1e-5)             # not a float tie
            assert ((scores >= threshold) == kept)[clear].all()
        thresholds.append(trace.thresholds[0])
    assert len({round(t, 6) for t in thresholds}) > 1, "dynamic: the threshold differs from text to text"
    raw = ts_dtp_classifier.trace([REVIEWS[0]])[0]            # the library's own trace records them too
    assert raw.thresholds == pytest.approx(classify_live(ts_dtp_classifier, method, REVIEWS[0]).trace.thresholds)
    top_k = ts_dtp_classifier.__class__(ts_dtp_classifier.model, ts_dtp_classifier.tokenizer, TopK(r_max=0.5))
    assert all(t is None for t in top_k.trace([REVIEWS[0]])[0].thresholds)   # a method without a threshold
    assert "cut-off" in layer_cutoff(top_k.trace([REVIEWS[0]])[0], 1)[1]
