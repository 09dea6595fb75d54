"""A pruned text student learns from its teacher's logits as well as from the labels; the teacher learns nothing."""
from __future__ import annotations

import pytest
import torch

from conftest import make_bert, make_tokenizer
from pruning_core.distillation import Distillation
from pruning_core.methods import TopK
from pruning_core.text import PrunedTextClassifier
from pruning_core.text.training import TrainConfig, fine_tune, teacher_logits
from test_training import made_up_reviews


def test_teacher_logits_are_the_models_logits_in_the_texts_order():
    texts, _ = made_up_reviews(10)
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer())
    logits = teacher_logits(classifier, texts, batch_size=3)
    assert logits.shape == (10, 2)
    one_by_one = torch.cat([teacher_logits(classifier, [text]) for text in texts])
    torch.testing.assert_close(logits, one_by_one, atol=1e-5, rtol=1e-5)


def test_a_student_learns_what_its_teacher_says_rather_than_the_labels():
    texts, labels = made_up_reviews(32)             # balanced labels
    student = PrunedTextClassifier(make_bert(num_layers=2, seed=1), make_tokenizer(), TopK.geometric(0.5, 2))
    says_one = torch.tensor([[-3.0, 3.0]]).repeat(32, 1).requires_grad_()
    config = TrainConfig(epochs=6, batch_size=8, learning_rate=1e-3, distillation=Distillation(weight=1.0))
    fine_tune(student, texts, labels, config, teacher_logits=says_one)
    predictions = [trace.prediction for trace in student.trace(texts)]
    assert sum(predictions) >= 30, "with weight 1 the labels do not count: the teacher says 1 for every text"
    assert says_one.grad is None, "no gradient flows into the teacher's logits"


def test_fine_tune_distils_exactly_when_asked_to():
    texts, labels = made_up_reviews(8)
    student = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer())
    with pytest.raises(ValueError, match="teacher_logits"):
        fine_tune(student, texts, labels, TrainConfig(max_steps=1, distillation=Distillation()))
    with pytest.raises(ValueError, match="distillation"):
        fine_tune(student, texts, labels, TrainConfig(max_steps=1), teacher_logits=torch.zeros(8, 2))
    with pytest.raises(ValueError, match="rows"):
        fine_tune(student, texts, labels, TrainConfig(max_steps=1, distillation=Distillation()),
                  teacher_logits=torch.zeros(7, 2))


@pytest.mark.parametrize("bad", [dict(weight=1.5), dict(temperature=0.0), dict(feature_weight=-1.0)])
def test_bad_distillation_settings_are_refused_by_name(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Distillation(**bad)
