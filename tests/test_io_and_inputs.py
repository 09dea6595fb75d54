"""Saving and loading pruned models, and what bad input gets."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import GPT2Config

from conftest import REVIEWS, make_bert, make_distilbert, make_tokenizer
from pruning_core.classifier import ModelLoadError, UnsupportedModelError
from pruning_core.methods import LearnedTokenPruning, TopK
from pruning_core.text import EmptyTextError, PrunedTextClassifier, load_text_classifier, save_pruned


@pytest.mark.parametrize("method", [LearnedTokenPruning(4, thresholds=[0.5, 0.8, 1.0, 1.2]),
                                    TopK(r_max=0.5, alpha=1.5, score="received")])
def test_save_then_load_gives_identical_logits(tmp_path, method):
    original = PrunedTextClassifier(make_bert(), make_tokenizer(), method)
    folder = save_pruned(original, tmp_path / "model")
    saved = json.loads((folder / "pruning.json").read_text())
    assert saved["method"] == method.name
    assert not list(folder.glob("*.bin")) and (folder / "model.safetensors").is_file()
    restored = load_text_classifier(folder)
    assert type(restored.method) is type(method)
    before, after = original.trace(REVIEWS), restored.trace(REVIEWS)
    for a, b in zip(before, after):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)
        np.testing.assert_array_equal(a.kept, b.kept)


def test_learned_thresholds_are_readable_in_the_json(tmp_path):
    method = LearnedTokenPruning(4)
    with torch.no_grad():
        method.thresholds.copy_(torch.tensor([0.0, 0.01, 0.02, 0.03]))
    folder = save_pruned(PrunedTextClassifier(make_bert(), make_tokenizer(), method), tmp_path / "m")
    thresholds = json.loads((folder / "pruning.json").read_text())["config"]["thresholds"]
    assert thresholds == pytest.approx([0.0, 0.01, 0.02, 0.03])


def test_distilbert_folder_round_trips(tmp_path):
    original = PrunedTextClassifier(make_distilbert(), make_tokenizer(), TopK(keep_ratios=[0.8, 0.5]))
    restored = load_text_classifier(save_pruned(original, tmp_path / "d"))
    assert restored.trace(REVIEWS[:2])[0].probabilities == pytest.approx(
        original.trace(REVIEWS[:2])[0].probabilities, abs=1e-6)


def test_label_names_make_a_new_head(tmp_path):
    folder = save_pruned(PrunedTextClassifier(make_bert(), make_tokenizer()), tmp_path / "m")
    classifier = load_text_classifier(folder, label_names=["World", "Sports", "Business", "Sci/Tech"])
    trace = classifier.trace(["the team won the league"])[0]
    assert len(trace.probabilities) == 4 and trace.predicted_name in classifier.label_names


def test_missing_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="No model folder"):
        load_text_classifier(tmp_path / "does-not-exist")


def test_folder_without_a_model_gives_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match="is not a model"):
        load_text_classifier(tmp_path)


def test_corrupt_weights_give_a_clear_error(tmp_path):
    folder = save_pruned(PrunedTextClassifier(make_bert(), make_tokenizer()), tmp_path / "m")
    (folder / "model.safetensors").write_bytes(b"\x00\x01 not safetensors")
    with pytest.raises(ModelLoadError, match="Could not load"):
        load_text_classifier(folder)


def test_non_bert_model_is_refused(tmp_path):
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(tmp_path)
    with pytest.raises(UnsupportedModelError, match="gpt2"):
        load_text_classifier(tmp_path)


def test_empty_text_is_refused_with_a_clear_message(classifier):
    with pytest.raises(EmptyTextError, match="Text #1 is empty"):
        classifier.trace(["a fine film", "   \n"])


@pytest.mark.parametrize("texts, error, message", [
    (None, TypeError, "Expected a list of texts \\(strings\\), got NoneType"),
    (123, TypeError, "got int"),
    (["a fine film", None], TypeError, "Text #1 is NoneType None, not a string"),
    ([123], TypeError, "Text #0 is int 123, not a string"),
    ([b"bytes"], TypeError, "Text #0 is bytes"),
])
def test_bad_input_is_refused_naming_the_bad_item(classifier, texts, error, message):
    with pytest.raises(error, match=message):
        classifier.trace(texts)


def test_a_bare_string_is_one_text_not_its_characters(classifier):
    one = classifier.trace("the movie was great")
    assert len(one) == 1 and one[0].text == "the movie was great"
    with pytest.raises(ValueError, match="2 labels for 1 texts"):
        classifier.trace("the movie was great", labels=[0, 1])


def test_long_text_is_truncated_and_the_trace_says_so(classifier):
    long_text = "the movie was great and the plot was fun . " * 400
    short, long = classifier.trace(["the movie was great", long_text], max_length=64)
    assert long.truncated and len(long.tokens) == 64
    assert not short.truncated


def test_odd_unicode_is_classified(classifier):
    trace = classifier.trace(["the film 🎬 was great — ממש טוב , très bien"])[0]
    assert "[UNK]" in trace.tokens and not trace.truncated
    assert sum(trace.probabilities) == pytest.approx(1.0)


def test_words_group_sub_word_pieces(classifier):
    classifier.method = TopK(keep_ratios=[1.0, 0.8, 0.6, 0.4])
    trace = classifier.trace(["the actors loved the ending"])[0]
    words = trace.words()
    assert [w.text for w in words] == ["the", "actors", "loved", "the", "ending"]
    actors = words[1]
    assert len(actors.token_positions) == 2
    assert actors.drop_layer == max(trace.drop_layer[p] for p in actors.token_positions)
