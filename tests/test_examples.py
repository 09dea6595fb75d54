"""The built-in examples and the check that a model shows pruning on them (pruning_core.text.examples), on a tiny
model: the check counts what the classifier read and whether the prediction is the example's right label."""
from __future__ import annotations

import pytest

from conftest import make_bert, make_tokenizer
from pruning_core import build_method
from pruning_core.text import PrunedTextClassifier
from pruning_core.text.data import DATASETS
from pruning_core.text.examples import EXAMPLES, Example, ExampleOutcome, check_examples, examples_of

TINY = [Example("tiny", "the film was great fun and the music was good", "imdb", "positive"),
        Example("tiny news", "the team win the league game", "ag_news", "Sports")]


def test_every_built_in_example_names_a_dataset_and_one_of_its_labels():
    assert {example.dataset for example in EXAMPLES} == set(DATASETS)
    assert examples_of("imdb") and all(example.dataset == "imdb" for example in examples_of("imdb"))
    with pytest.raises(ValueError, match="'World' is not one of dataset 'imdb'"):
        Example("odd", "some text", "imdb", "World")


@pytest.mark.parametrize("keep, shows", [(1.0, False), (0.5, True)])
def test_the_check_counts_the_tokens_the_classifier_read(keep, shows):
    classifier = PrunedTextClassifier(make_bert(num_layers=3), make_tokenizer(),
                                      build_method("topk", keep_ratios=[keep] * 3))
    outcome, = check_examples(classifier, TINY[:1])
    assert outcome.tokens == 12 and outcome.read == classifier.trace([TINY[0].text])[0].read_count
    right = ExampleOutcome(TINY[0], "positive", outcome.tokens, outcome.read)
    assert right.shows_pruning() is shows                     # a third of the tokens gone, or not
    assert not ExampleOutcome(TINY[0], "negative", outcome.tokens, outcome.read).shows_pruning()   # wrong answer
    assert f"read {outcome.read} of 12 tokens" in right.describe()


def test_the_check_refuses_a_share_outside_zero_to_one():
    with pytest.raises(ValueError, match="min_dropped"):
        ExampleOutcome(TINY[0], "positive", 10, 5).shows_pruning(min_dropped=1.5)
