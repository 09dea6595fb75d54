"""LTP's score is length-fair: a threshold keeps the same share of a short and a long text, where the paper's share
of the text's attention (about 1/n) is a bar that rises with length. And models saved before the relative score
existed still load with the score they were trained with."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import WORDS, make_bert, make_tokenizer
from pruning_core.methods import LearnedTokenPruning, load_method, save_method
from pruning_core.methods.base import LayerState
from pruning_core.text import PrunedTextClassifier


def uniform_attention_bert():
    """A tiny BERT whose queries and keys are zero: every query attends uniformly to every live key."""
    model = make_bert(num_layers=2)
    for layer in model.bert.encoder.layer:
        for projection in (layer.attention.self.query, layer.attention.self.key):
            torch.nn.init.zeros_(projection.weight)
            torch.nn.init.zeros_(projection.bias)
    return model


def share_kept_at_layer_0(score: str, threshold: float, words: int) -> float:
    classifier = PrunedTextClassifier(uniform_attention_bert(), make_tokenizer(),
                                      LearnedTokenPruning(2, [threshold, 0.0], score=score))
    text = " ".join(WORDS[i % 40] for i in range(words))
    trace = classifier.trace([text], max_length=512)[0]
    return (trace.keep_counts[0] - 1) / (len(trace.tokens) - 1)   # CLS always stays: count the others


@pytest.mark.parametrize("threshold", [0.5, 0.99, 1.01, 2.0])
def test_one_relative_threshold_keeps_the_same_share_of_a_short_and_a_long_text(threshold):
    short, long = share_kept_at_layer_0("relative", threshold, 58), share_kept_at_layer_0("relative", threshold, 498)
    assert short == long
    assert short == (1.0 if threshold <= 1.0 else 0.0), "uniform attention: every token scores 1"


@pytest.mark.parametrize("threshold", [0.5, 0.99, 1.01, 2.0])
def test_the_content_score_keeps_the_same_share_at_any_length_too(threshold):
    short, long = share_kept_at_layer_0("content", threshold, 18), share_kept_at_layer_0("content", threshold, 498)
    assert short == long == (1.0 if threshold <= 1.0 else 0.0), "uniform attention: every token scores 1"


def cls_absorbing(length: int, to_cls: float) -> LayerState:
    """One text of `length` rows whose queries give `to_cls` of their attention to CLS and the rest evenly to the
    other rows: the summary LTP reads (attention received summed over queries)."""
    received = torch.full((1, length), (1 - to_cls) * length / (length - 1))
    received[0, 0] = to_cls * length
    return LayerState(index=0, attention=received, alive=torch.ones(1, length, dtype=torch.bool),
                      hidden=torch.zeros(1, length, 4), n_input=torch.tensor([length]), num_layers=2,
                      presence=torch.ones(1, length))


def test_the_content_score_holds_where_cls_absorbs_more_of_a_short_texts_attention():
    """A 9-row text (a short review after a few removals) whose CLS takes 65% of every query's attention, against a
    300-row text whose CLS takes 10%: the other tokens, all alike, score 1 under `content` at both lengths, so one
    threshold keeps both; under `relative` they score 0.39 and 0.90, and a threshold of 0.5 empties the short one."""
    short, long = cls_absorbing(9, 0.65), cls_absorbing(300, 0.10)
    content, relative = LearnedTokenPruning(2, [0.5, 0.0]), LearnedTokenPruning(2, [0.5, 0.0], score="relative")
    for state in (short, long):
        assert content.scores(state)[0, 1:] == pytest.approx(torch.ones(state.attention.shape[1] - 1))
        assert content.select(state).keep.all()
    assert relative.scores(short)[0, 1:].max() < 0.5 and not relative.select(short).keep[0, 1:].any()
    assert relative.select(long).keep.all()


def test_the_papers_share_is_a_bar_that_rises_with_length():
    threshold = 0.01   # between 1/60 and 1/500
    assert share_kept_at_layer_0("share", threshold, 58) == 1.0
    assert share_kept_at_layer_0("share", threshold, 498) == 0.0


@pytest.mark.parametrize("score, first", [("relative", 0), ("content", 1)])
def test_relative_scores_average_one_at_every_layer_whatever_was_removed(score, first):
    """`relative`: the live tokens' mean is 1; `content`: the live tokens' other than CLS."""
    classifier = PrunedTextClassifier(make_bert(num_layers=3), make_tokenizer(),
                                      LearnedTokenPruning(3, [0.8, 0.9, 0.0], score=score))
    trace = classifier.trace(["the movie was really good and the music was great but the ending was bad ."])[0]
    for layer in range(3):
        scores = trace.scores[layer][first:]
        alive = scores[~torch.isnan(torch.from_numpy(scores)).numpy()]
        assert alive.mean() == pytest.approx(1.0, abs=1e-5)
    assert trace.keep_counts[1] < trace.keep_counts[0] < len(trace.tokens), "the thresholds do prune"


def test_a_saved_ltp_without_a_score_loads_with_the_papers_share(tmp_path):
    save_method(LearnedTokenPruning(2, [0.01, 0.02], score="share"), tmp_path)
    saved = json.loads((tmp_path / "pruning.json").read_text())
    del saved["config"]["score"]   # as written before the relative score existed
    (tmp_path / "pruning.json").write_text(json.dumps(saved))
    assert load_method(tmp_path).score == "share"
    save_method(LearnedTokenPruning(2, [0.5, 0.9], score="relative"), tmp_path)
    assert load_method(tmp_path).score == "relative"
    save_method(LearnedTokenPruning(2, [0.5, 0.9]), tmp_path)
    assert load_method(tmp_path).score == "content"


def test_bad_ltp_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="score"):
        LearnedTokenPruning(2, score="mean")
    with pytest.raises(ValueError, match="temperature"):
        LearnedTokenPruning(2, temperature=0.0)
