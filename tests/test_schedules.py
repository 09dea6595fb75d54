"""Top-k schedules compared at one FLOPs budget: each shape is set to the share asked for, and the choice is the
best scoring one on the texts given."""
from __future__ import annotations

import pytest

from conftest import make_bert, make_tokenizer
from pruning_core.analysis.schedules import choose_schedule, keep_for_share, schedule_flops_share
from pruning_core.methods import NoPruning, shaped_keep
from pruning_core.text import PrunedTextClassifier
from test_training import made_up_reviews

LENGTHS = [60, 120, 250, 500, 512]


@pytest.mark.parametrize("shape", [0.5, 1.0, 2.0])
def test_each_shape_is_set_to_the_flops_share_asked_for(shape):
    ratios = keep_for_share(0.4, shape, LENGTHS, 6, 384, 1536)
    assert schedule_flops_share(ratios, LENGTHS, 384, 1536) == pytest.approx(0.4, abs=0.01)
    assert ratios == sorted(ratios, reverse=True) and 0 < ratios[-1] < ratios[0] <= 1


def test_a_small_shape_prunes_early_and_a_large_one_late_at_the_same_cost():
    early, late = keep_for_share(0.4, 0.5, LENGTHS, 6, 384, 1536), keep_for_share(0.4, 2.0, LENGTHS, 6, 384, 1536)
    assert early[0] < late[0], "shape 0.5 removes more in layer 0"
    assert early[4] > late[4], "and keeps more before the last layer"


def test_shape_one_is_geometric_and_bad_shapes_are_refused():
    assert shaped_keep(0.1, 4, 1.0) == pytest.approx([0.1 ** (k / 4) for k in range(1, 5)])
    with pytest.raises(ValueError, match="shape"):
        shaped_keep(0.1, 4, 0.0)
    with pytest.raises(ValueError, match="final_keep"):
        shaped_keep(0.0, 4, 1.0)
    with pytest.raises(ValueError, match="flops_share"):
        keep_for_share(1.5, 1.0, LENGTHS, 6, 384, 1536)
    with pytest.raises(ValueError, match="shape 3"):
        keep_for_share(0.2, 3.0, LENGTHS, 4, 384, 1536)


def test_choose_schedule_scores_every_shape_at_the_share_best_first_and_leaves_the_model_alone():
    short, labels = made_up_reviews(24)
    texts = [" ".join(short[i:] + short[:i]) for i in range(24)]   # about 300 tokens: counts fine enough to meet 0.5
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer())
    candidates = choose_schedule(classifier, texts, labels, 0.5, shapes=(0.5, 1.0, 3.0))
    assert sorted(c.shape for c in candidates) == [0.5, 1.0], "shape 3 keeps 4 layers too full to cost half"
    assert [c.accuracy for c in candidates] == sorted((c.accuracy for c in candidates), reverse=True)
    assert all(c.flops_share == pytest.approx(0.5, abs=0.02) for c in candidates)
    assert isinstance(classifier.method, NoPruning)
