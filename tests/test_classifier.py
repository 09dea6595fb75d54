"""The classifier base text and vision share: traces built alike, one output type, saving, and loading any
saved model by its config's model type."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import GPT2Config

from conftest import REVIEWS, make_bert, make_distilbert, make_tokenizer
from pruning_core.classifier import ClassifierOutput, ModelLoadError, PrunedClassifier, UnsupportedModelError
from pruning_core.loading import load_classifier, modality
from pruning_core.methods import LearnedTokenPruning, TopK
from pruning_core.text import PrunedTextClassifier
from pruning_core.vision import PrunedVisionClassifier
from vision_helpers import make_vit, random_pixels


def text_case():
    classifier = PrunedTextClassifier(make_bert(num_layers=3), make_tokenizer(), TopK(r_max=0.5, alpha=1.0))
    encoding = classifier.encode(REVIEWS[:3])
    return classifier, (encoding.input_ids, encoding.attention_mask), REVIEWS[:3], encoding.lengths


def vision_case():
    classifier = make_vit(num_layers=3, method=TopK(r_max=0.5, alpha=1.0))
    pixels = random_pixels(3)
    return classifier, (classifier.pixel_values(pixels),), pixels, [classifier.num_tokens] * 3


@pytest.mark.parametrize("case", [text_case, vision_case])
def test_text_and_vision_traces_are_built_alike_from_the_recorded_loop(case):
    classifier, inputs, examples, lengths = case()
    assert isinstance(classifier, PrunedClassifier)
    with torch.no_grad():
        output = classifier(*inputs, record=True)
    assert type(output) is ClassifierOutput and output.loss is None
    traces = classifier.trace(examples)
    probabilities = output.logits.softmax(-1)
    for row, (trace, n) in enumerate(zip(traces, lengths)):
        assert trace.scores.shape == trace.kept.shape == (classifier.num_layers, n) == (3, len(trace.tokens))
        assert trace.scores.dtype == np.float32 and trace.kept.dtype == bool
        for layer, record in enumerate(output.loop.records):
            np.testing.assert_array_equal(trace.kept[layer], record.kept[row, :n].numpy())
        assert trace.thresholds == output.loop.thresholds_of(row) == [None] * 3
        assert trace.probabilities == pytest.approx(probabilities[row].tolist(), abs=1e-5)
        assert trace.label_names == classifier.label_names
        assert trace.keep_counts[-1] < n, "the schedule pruned"


@pytest.mark.parametrize("labels", [True, False])
def test_the_loss_is_cross_entropy_plus_the_methods_own_term(labels):
    classifier = make_vit(num_layers=2, method=LearnedTokenPruning(2, mode="soft", keep_lambda=0.5))
    target = torch.tensor([0, 2]) if labels else None
    output = classifier(classifier.pixel_values(random_pixels(2)), labels=target)
    assert output.auxiliary_loss is not None and output.auxiliary_loss > 0
    if labels:
        cross_entropy = torch.nn.functional.cross_entropy(output.logits, target)
        torch.testing.assert_close(output.loss, cross_entropy + output.auxiliary_loss)
    else:
        assert output.loss is None


def tiny_text() -> PrunedTextClassifier:
    return PrunedTextClassifier(make_distilbert(), make_tokenizer(), LearnedTokenPruning(2, thresholds=[0.8, 1.0]))


def tiny_vision() -> PrunedVisionClassifier:
    return make_vit(num_layers=2, method=TopK(r_max=0.4, alpha=1.5))


@pytest.mark.parametrize("make, kind, examples", [(tiny_text, "text", REVIEWS[:2]),
                                                  (tiny_vision, "vision", random_pixels(2))])
def test_any_saved_model_loads_back_by_its_model_type(tmp_path, make, kind, examples):
    original = make()
    folder = original.save(tmp_path / "model")
    assert modality(folder) == kind
    restored = load_classifier(folder)
    assert type(restored) is type(original)
    assert (restored.method.name, restored.method.config()) == (original.method.name, original.method.config())
    for before, after in zip(original.trace(examples), restored.trace(examples)):
        assert after.probabilities == pytest.approx(before.probabilities, abs=1e-6)
        np.testing.assert_array_equal(after.kept, before.kept)


def test_a_method_given_to_load_classifier_replaces_the_saved_one(tmp_path):
    folder = tiny_vision().save(tmp_path / "vit")
    restored = load_classifier(folder, method=TopK(keep_ratios=[1.0, 0.5]))
    assert restored.method.config()["keep_ratios"] == [1.0, 0.5]


def test_an_unsupported_model_type_is_named_with_the_supported_ones(tmp_path):
    GPT2Config(n_layer=1, n_embd=32, n_head=2).save_pretrained(tmp_path)
    with pytest.raises(UnsupportedModelError, match=r"'gpt2'.*bert.*distilbert.*vit"):
        load_classifier(tmp_path)
    assert modality(tmp_path) is None


def test_what_is_not_a_model_gets_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="No model folder"):
        load_classifier(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="is not a model folder"):
        load_classifier(tmp_path)
    assert modality(tmp_path) is None and modality(tmp_path / "missing") is None


def test_two_lines_in_a_notebook_trace_a_saved_model(tmp_path):
    folder = str(tiny_text().save(tmp_path / "model"))

    from pruning_core import build_method, load_classifier as load
    traces = load(folder, method=build_method("topk", keep_ratios=[0.6, 0.3])).trace(["A wonderful film"])

    assert traces[0].tokens == ["[CLS]", "a", "[UNK]", "film", "[SEP]"]
    assert traces[0].keep_counts == [3, 1], "the given method, not the saved LTP, prunes"
