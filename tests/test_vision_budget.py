"""Sizing a ViT run to a wall-clock budget from measured step times."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from pruning_core.methods import TopK
from pruning_core.vision import Distillation, VisionTrainConfig
from pruning_core.vision.budget import StepSeconds, measure_step_seconds, run_seconds
from pruning_core.vision.profiles import PROFILES
from vision_helpers import make_vit, random_pixels

FAST = StepSeconds(low_res=0.4, full=0.8, forks=1.6)
SLOW = StepSeconds(low_res=1.2, full=2.4, forks=4.8)


def test_run_seconds_adds_up_its_three_stretches():
    # 10 steps per epoch: 2 epochs cheap, 1 full, 1 forks
    assert run_seconds(10, 4, 2, 3, FAST) == pytest.approx(10 * (2 * 0.4 + 1 * 0.8 + 1 * 1.6))
    assert run_seconds(10, 4, 0, 3, FAST) == pytest.approx(10 * (3 * 0.8 + 1 * 1.6)), "no cheap grid"


def test_a_slower_machine_gets_fewer_epochs_in_the_same_shape():
    profile = PROFILES["cpu"]
    fast, slow = profile.fit(390, FAST), profile.fit(390, SLOW)
    assert slow.train.epochs < fast.train.epochs
    assert slow.train.epochs == pytest.approx(fast.train.epochs / 3, rel=0.05)
    for fitted in (fast, slow):
        assert fitted.budget_minutes is None, "a fitted profile is sized in epochs"
        assert fitted.prune_after_epochs / fitted.train.epochs == pytest.approx(0.85, abs=0.01)
        assert fitted.train.low_res_epochs / fitted.train.epochs == pytest.approx(0.6, abs=0.01)
        predicted = fitted.seconds(390, FAST if fitted is fast else SLOW)
        evaluation = fitted.evaluation_seconds(FAST if fitted is fast else SLOW)
        assert predicted + evaluation == pytest.approx(profile.budget_minutes * 60, rel=0.01)
    assert profile.fit(390, FAST, spent_seconds=600).train.epochs < fast.train.epochs, "time spent counts"
    assert "epochs on the cheaper 32px grid" in fast.describe_plan(390, FAST, "fp32")


def test_a_budget_too_small_is_refused_and_no_budget_changes_nothing():
    profile = PROFILES["cpu"].with_overrides(budget_minutes=0.5)
    with pytest.raises(ValueError, match="fewer than 10 training steps"):
        profile.fit(390, SLOW)
    fixed = dataclasses.replace(PROFILES["cpu"], budget_minutes=None)
    assert fixed.fit(390, SLOW) is fixed


def test_timing_steps_leaves_the_classifier_untouched():
    classifier = make_vit(num_labels=3)
    before = [p.detach().clone() for p in classifier.parameters()]
    pixels, labels = random_pixels(32), torch.arange(32) % 3
    config = VisionTrainConfig(epochs=1, batch_size=8, low_res_size=32, low_res_epochs=1, precision="fp32")
    seconds = measure_step_seconds(classifier, pixels, labels, config,
                                   [(TopK(r_max=0.6, alpha=1.0), None), (TopK(r_max=0.6, alpha=1.0), Distillation())],
                                   steps=1)
    assert seconds.low_res > 0 and seconds.full > 0 and seconds.forks > 0
    assert all(torch.equal(a, b) for a, b in zip(before, classifier.parameters()))
