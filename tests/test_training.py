"""Training functions on a tiny model and a few dozen made-up sentences."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from conftest import make_bert, make_tokenizer
from pruning_core.methods import LearnedTokenPruning, NoPruning, TaskSpecificDynamicPruning, geometric_keep
from pruning_core.analysis.evaluation import evaluate
from pruning_core.text import DEFAULT_MAX_LENGTH, PrunedTextClassifier
from pruning_core.text.training import (LengthGroupedBatches, TrainConfig, binarize, calibrate, hard_stage,
                                   soft_stage, train_baseline, train_stages)

POSITIVE = "great good love amazing excellent best fun funny".split()
NEGATIVE = "bad awful hate worst terrible boring waste".split()
FILLER = "the movie film story plot was it is this and very really".split()


def made_up_reviews(count: int, seed: int = 0) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(count):
        label = i % 2
        words = rng.choices(FILLER, k=rng.randint(6, 14)) + rng.choices(POSITIVE if label else NEGATIVE, k=2)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def accuracy(classifier: PrunedTextClassifier, texts: list[str], labels: list[int]) -> float:
    return evaluate(classifier, texts, labels, DEFAULT_MAX_LENGTH).metrics.accuracy


def test_baseline_fine_tuning_learns_the_task():
    texts, labels = made_up_reviews(64)
    classifier = PrunedTextClassifier(make_bert(num_layers=2, init=0.02), make_tokenizer(), NoPruning())
    before = accuracy(classifier, texts, labels)
    # 10 epochs: at 6, about a third of seeds (old code and new alike) had not left the plateau yet.
    result = train_baseline(classifier, texts, labels, TrainConfig(epochs=10, batch_size=8, learning_rate=3e-3))
    assert result.steps == 80
    assert before < 0.75
    assert accuracy(classifier, *made_up_reviews(64, seed=1)) >= 0.9, "learned on unseen sentences too"


def test_training_is_deterministic_for_a_seed():
    texts, labels = made_up_reviews(16)
    weights = []
    for _ in range(2):
        classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), NoPruning())
        train_baseline(classifier, texts, labels, TrainConfig(batch_size=4, learning_rate=1e-3, seed=7))
        weights.append(classifier.model.classifier.weight.detach().clone())
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)


def test_soft_stage_learns_thresholds_then_binarize_fixes_them():
    texts, labels = made_up_reviews(32)
    method = LearnedTokenPruning(2, temperature=0.01, keep_lambda=0.5)
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), method)
    result = soft_stage(classifier, texts, labels, TrainConfig(epochs=2, batch_size=8, method_learning_rate=0.01))
    assert method.thresholds.detach().abs().sum() > 0, "the regulariser pushes thresholds up"
    assert len(result.keep_fractions) == 2 and all(0 < k <= 1 for k in result.keep_fractions)
    fixed = binarize(classifier)
    assert method.mode == "hard" and not method.thresholds.requires_grad
    assert fixed == method.thresholds.tolist()


def test_three_ltp_stages_leave_a_hard_pruning_model_with_fixed_thresholds():
    texts, labels = made_up_reviews(32)
    method = LearnedTokenPruning(2, temperature=0.01, keep_lambda=0.5)
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), method)
    soft = TrainConfig(epochs=2, batch_size=8, method_learning_rate=0.1)   # thresholds near 1: relative scores
    results = train_stages(classifier, texts, labels, soft, TrainConfig(max_steps=3, batch_size=8))
    thresholds_after_soft = method.thresholds.detach().clone()
    assert set(results) == {"soft", "hard"} and results["hard"].steps == 3
    torch.testing.assert_close(method.thresholds.detach(), thresholds_after_soft)
    trace = classifier.trace(texts[:4])
    assert any(t.keep_counts[-1] < len(t.tokens) for t in trace), "hard mode prunes after soft training"


def test_length_grouped_batches_cover_every_text_once_with_similar_lengths():
    lengths = [random.Random(3).randint(1, 500) for _ in range(200)]
    sampler = LengthGroupedBatches(lengths, batch_size=8, seed=1, group_batches=5)
    epochs = [list(sampler), list(sampler)]
    for batches in epochs:
        assert len(batches) == len(sampler) == 25
        assert sorted(i for batch in batches for i in batch) == list(range(200))
        spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
        assert spread < 100, "a random batch of 8 would span about 390"
    assert epochs[0] != epochs[1], "a new order every epoch"
    assert list(LengthGroupedBatches(lengths, 8, seed=1, group_batches=5)) == epochs[0], "the same for a seed"


def test_a_stage_that_starts_later_in_the_stream_continues_through_the_data():
    """Two stages of 15 and 20 batches starting where the previous stopped see the batches one 35-batch stage does
    (across the epoch boundary), not the first 15 twice."""
    lengths = [random.Random(4).randint(1, 300) for _ in range(200)]

    def take(start: int, count: int) -> list[list[int]]:
        sampler, batches = LengthGroupedBatches(lengths, 8, seed=2, group_batches=5, start=start), []
        while len(batches) < count:
            batches += list(sampler)
        return batches[:count]

    soft, hard, together = take(10, 15), take(25, 20), take(10, 35)
    assert soft + hard == together
    assert hard[:15] != soft, "the second stage does not replay the first one's batches"
    assert together[15:] == take(0, 45)[25:], "one stream: epoch 2 follows epoch 1"


@pytest.mark.parametrize("make_method", [lambda: LearnedTokenPruning(4, mode="soft"),
                                         lambda: TaskSpecificDynamicPruning(4, 32, mode="soft")], ids=["ltp", "ts_dtp"])
def test_calibrated_cuts_keep_about_the_wanted_share_from_layer_0(make_method):
    texts, _ = made_up_reviews(40)
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer())
    wanted = geometric_keep(0.2, 4)
    assert wanted[-1] == pytest.approx(0.2) and wanted == sorted(wanted, reverse=True)
    method = make_method()
    calibrate(classifier, method, texts, wanted)
    assert isinstance(classifier.method, NoPruning), "the classifier's own method is left alone"
    assert method.mode == "soft", "the method keeps its mode"
    classifier.method = method
    method.mode = "hard"
    traces = classifier.trace(texts)
    kept = np.sum([t.keep_counts for t in traces], axis=0) / sum(len(t.tokens) for t in traces)
    assert kept == pytest.approx(wanted, abs=0.05)


def test_every_stage_reports_each_step_done_of_its_total():
    texts, labels = made_up_reviews(12)
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(),
                                      LearnedTokenPruning(2, temperature=0.01, mode="soft"))
    config = TrainConfig(epochs=2, batch_size=4)
    seen = {}
    for name, stage in (("soft", soft_stage), ("hard", hard_stage)):
        result = stage(classifier, texts, labels, config, on_step=lambda done, total: seen.setdefault(name, []).append(
            (done, total)))
        assert result.steps == 6
    assert seen["soft"] == seen["hard"] == [(k, 6) for k in range(1, 7)]


def test_precision_rule_bf16_for_fixed_paths_fp32_for_soft_stages_and_bad_values_refused():
    texts, labels = made_up_reviews(16)
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), NoPruning())
    weights = classifier.model.classifier.weight
    bf16 = train_baseline(classifier, texts, labels, TrainConfig(batch_size=8, learning_rate=1e-3, precision="bf16"))
    assert bf16.precision == "bf16" and weights.dtype == torch.float32, "autocast: the weights stay fp32"
    fp32 = train_baseline(classifier, texts, labels, TrainConfig(batch_size=8, learning_rate=1e-3, precision="fp32"))
    assert fp32.precision == "fp32"
    classifier.method = LearnedTokenPruning(2, temperature=0.01, keep_lambda=0.5)
    soft = soft_stage(classifier, texts, labels, TrainConfig(batch_size=8, precision="bf16"))
    assert soft.precision == "fp32", "soft stages learn cut-offs finer than bf16 resolves"
    with pytest.raises(ValueError, match="precision.*'fp16'"):
        TrainConfig(precision="fp16")
