"""Patch pruning in a tiny ViT through the shared layer loop: exactness, schedule, removal and traces."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pruning_core.methods import LearnedTokenPruning, NoPruning, TopK, schedule_counts
from vision_helpers import make_vit, random_pixels

METHODS = {
    "topk-cls": lambda layers: TopK(r_max=0.6, alpha=1.2),
    "topk-received": lambda layers: TopK(r_max=0.6, alpha=2.0, score="received"),
    "ltp": lambda layers: LearnedTokenPruning(layers, thresholds=[0.6, 0.8, 1.0][:layers]),
}


@pytest.mark.parametrize("stem", ["patch", "conv"])
@pytest.mark.parametrize("record", [False, True], ids=["fused-attention", "recorded-eager"])
def test_unpruned_output_equals_the_transformers_model(record, stem):
    classifier = make_vit(method=NoPruning(), stem=stem)
    pixel_values = classifier.pixel_values(random_pixels())
    with torch.no_grad():
        expected = classifier.model(pixel_values=pixel_values).logits
        ours = classifier(pixel_values, record=record).logits
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


def test_keep_everything_schedule_also_equals_the_transformers_model():
    classifier = make_vit(method=TopK(keep_ratios=[1.0, 1.0, 1.0]))
    pixel_values = classifier.pixel_values(random_pixels())
    with torch.no_grad():
        torch.testing.assert_close(classifier(pixel_values, record=True).logits,
                                   classifier.model(pixel_values=pixel_values).logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("alpha", [1.2, 2.0])
@pytest.mark.parametrize("score", ["cls", "received"])
def test_kept_counts_follow_the_schedule(alpha, score):
    classifier = make_vit(num_layers=8, method=TopK(r_max=0.6, alpha=alpha, score=score))
    assert classifier.num_tokens == 145 and classifier.grid == (12, 12)
    expected = schedule_counts(145, 8, 0.6, alpha)
    for trace in classifier.trace(random_pixels(3)):
        assert trace.keep_counts == expected
    if alpha == 2.0:
        assert expected == [143, 137, 125, 106, 81, 54, 29, 12]


@pytest.mark.parametrize("name", METHODS)
def test_cls_is_never_dropped_and_dropped_patches_never_return(name):
    classifier = make_vit(method=METHODS[name](3))
    traces = classifier.trace(random_pixels(6))
    assert any(trace.keep_counts[-1] < 145 for trace in traces), "the method should prune something"
    for trace in traces:
        kept = trace.kept
        assert kept[:, 0].all(), "CLS is never dropped"
        assert not (kept[1:] & ~kept[:-1]).any(), "a dropped patch comes back"
        for layer in range(1, trace.num_layers):
            assert np.isnan(trace.scores[layer, ~kept[layer - 1]]).all(), "gone patches get no score"


@pytest.mark.parametrize("name", METHODS)
def test_each_feed_forward_runs_on_exactly_the_kept_patches(name):
    classifier = make_vit(method=METHODS[name](3))
    rows_seen = []
    for layer in classifier.model.vit.layers:
        layer.mlp.fc1.register_forward_hook(lambda module, args, out: rows_seen.append(args[0].shape[1]))
    with torch.no_grad():
        output = classifier(classifier.pixel_values(random_pixels(1)), record=True)
        counts = [int(record.kept.sum()) for record in output.loop.records]
        assert rows_seen == counts[:-1] + [counts[-2]], "recording: the last layer runs on the rows alive on entry"
        assert counts[-2] < 145 and output.loop.hidden.shape[1] == counts[-2]
        rows_seen.clear()
        plain = classifier(classifier.pixel_values(random_pixels(1)))
    assert rows_seen == counts[:-1] + [1], "the last layer computes CLS's row alone"
    torch.testing.assert_close(plain.logits, output.logits, rtol=1e-5, atol=1e-5)


def test_topk_keeps_the_highest_scoring_patches():
    classifier = make_vit(method=TopK(r_max=0.6, alpha=1.2))
    for trace in classifier.trace(random_pixels(3)):
        for layer in range(trace.num_layers):
            scores, kept = trace.scores[layer, 1:], trace.kept[layer, 1:]
            dropped_here = ~np.isnan(scores) & ~kept
            assert scores[kept].min() >= scores[dropped_here].max()


def test_first_layer_scores_are_cls_attention_averaged_over_heads():
    """The trace's layer-0 scores equal transformers' own eager attention probabilities (CLS row)."""
    classifier = make_vit(method=TopK(r_max=0.6, alpha=1.2))
    pixels = random_pixels(2)
    classifier.model.set_attn_implementation("eager")
    with torch.no_grad():
        attentions = classifier.model(pixel_values=classifier.pixel_values(pixels), output_attentions=True).attentions
    expected = attentions[0][:, :, 0, :].mean(dim=1).numpy()
    for row, trace in enumerate(classifier.trace(pixels)):
        np.testing.assert_allclose(trace.scores[0], expected[row], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", METHODS)
def test_trace_matches_the_forward_pass_and_is_batch_invariant(name):
    classifier = make_vit(method=METHODS[name](3))
    pixels = random_pixels(5)
    with torch.no_grad():
        output = classifier(classifier.pixel_values(pixels), record=True)
    together = classifier.trace(pixels, labels=[0, 1, 2, 0, 1], names=[f"img{i}" for i in range(5)])
    loop = output.loop
    for row, trace in enumerate(together):
        survivors = sorted(loop.positions[row][loop.alive[row]].tolist())   # the rows the last layer ran on
        assert np.flatnonzero(trace.read_mask).tolist() == survivors
        assert trace.prediction == int(output.logits[row].argmax())
        assert trace.tokens[:3] == ["[CLS]", "p0", "p1"] and len(trace.tokens) == 145
        assert trace.label == [0, 1, 2, 0, 1][row] and trace.text == f"img{row}"
        alone = classifier.trace(pixels[row:row + 1])[0]
        np.testing.assert_array_equal(alone.kept, trace.kept)
        np.testing.assert_allclose(alone.probabilities, trace.probabilities, rtol=1e-5, atol=1e-6)


def test_patch_mask_lays_the_kept_patches_on_the_grid():
    classifier = make_vit(method=TopK(r_max=0.6, alpha=1.2))
    trace = classifier.trace(random_pixels(1))[0]
    for layer in range(trace.num_layers):
        mask = trace.patch_mask(layer)
        assert mask.shape == (12, 12)
        assert int(mask.sum()) == trace.keep_counts[layer] - 1
        flat = np.flatnonzero(mask.ravel())
        assert [p + 1 for p in flat] == np.flatnonzero(trace.kept[layer]).tolist()[1:]
    frame = trace.to_frame()
    assert len(frame) == int((~np.isnan(trace.scores)).sum()) and trace.words() == []


def test_trace_accepts_pil_images_of_any_size():
    from PIL import Image
    classifier = make_vit()
    images = [Image.new("RGB", (64, 40), (200, 30, 30)), Image.new("L", (20, 20), 90)]
    traces = classifier.trace(images)
    assert len(traces) == 2 and all(trace.kept.shape == (3, 145) for trace in traces)


def test_soft_ltp_removes_nothing_and_trains_thresholds():
    method = LearnedTokenPruning(3, thresholds=[0.9] * 3, temperature=0.05, keep_lambda=0.1, mode="soft")
    classifier = make_vit(method=method)
    output = classifier(classifier.pixel_values(random_pixels(2)), labels=torch.tensor([0, 1]))
    output.loss.backward()
    assert output.loop.hidden.shape[1] == 145
    assert output.auxiliary_loss is not None
    assert method.thresholds.grad is not None and method.thresholds.grad.abs().sum() > 0


@pytest.mark.parametrize("name, tokens", [("quick", 65), ("cpu", 145)])
def test_profiles_build_the_study_shape(name, tokens):
    """`cpu` is the vision study's shape (145 tokens); `quick` reads 32px pictures whole (8 x 8 patches + CLS)."""
    from pruning_core.vision import PrunedVisionClassifier
    from pruning_core.vision.profiles import PROFILES
    profile = PROFILES[name]
    classifier = PrunedVisionClassifier.from_config(profile.model_config(), TopK(r_max=profile.r_max, alpha=2.0))
    assert (classifier.num_layers, classifier.num_tokens, classifier.source_size) == (8, tokens, 32)
    assert classifier.trace(random_pixels(1))[0].keep_counts == schedule_counts(tokens, 8, 0.6, 2.0)
    if name == "cpu":
        assert schedule_counts(tokens, 8, 0.6, 2.0) == [143, 137, 125, 106, 81, 54, 29, 12]
    assert 0 < profile.prune_after_epochs < profile.train.epochs
    assert classifier.config.stem == "conv"


class PaddedTopK(TopK):
    """TopK made to take the general path (a keep mask, compacted with padding) even on dense batches."""

    def select(self, state):
        state.dense = False
        choice = super().select(state)
        assert choice.rows is None
        return choice


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("score", ["cls", "received"])
def test_dense_batches_take_kept_rows_directly_with_the_same_result(batch, score):
    taken: list[bool] = []

    class WatchedTopK(TopK):
        def select(self, state):
            choice = super().select(state)
            taken.append(choice.rows is not None)
            return choice

    fast, general = (make_vit(method=method(r_max=0.6, alpha=1.2, score=score)) for method in (WatchedTopK, PaddedTopK))
    pixels = fast.pixel_values(random_pixels(batch))
    with torch.inference_mode():
        a, b = fast(pixels, record=True), general(pixels, record=True)
    assert all(taken) and len(taken) == fast.num_layers
    assert torch.equal(a.logits, b.logits) and torch.equal(a.loop.positions, b.loop.positions)
    for ra, rb in zip(a.loop.records, b.loop.records):
        assert torch.equal(ra.kept, rb.kept)


def test_the_conv_stem_gives_the_patch_grid_and_trains():
    classifier = make_vit(method=TopK(r_max=0.6, alpha=1.2), stem="conv")
    stem = classifier.model.vit.embeddings.patch_embeddings.projection
    assert isinstance(stem, torch.nn.Sequential)
    output = classifier(classifier.pixel_values(random_pixels(2)), labels=torch.tensor([0, 1]))
    assert classifier.num_tokens == 145 and output.loop.positions.max() < 145
    output.loss.backward()
    assert stem[0].weight.grad is not None and stem[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("options, message", [({"stem": "resnet"}, "Unknown stem"),
                                              ({"stem": "conv", "image_size": 48, "patch_size": 3}, "power of two")])
def test_bad_stems_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        make_vit(**options)
