"""Token merging: the bipartite merge itself, its counts and proportional attention in the layer loop, its traces."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pruning_core.loop import run_layers
from pruning_core.methods import NoPruning, TokenMerging, TopK, build_method, load_method, save_method
from pruning_core.methods.merge import bipartite_merge, merge_count
from conftest import make_bert, make_tokenizer
from pruning_core.text import PrunedTextClassifier
from vision_helpers import make_vit, random_pixels


def test_the_most_similar_pairs_merge_into_their_size_weighted_mean():
    hidden = torch.randn(1, 7, 8, generator=torch.Generator().manual_seed(0))
    hidden[0, 4] = hidden[0, 3] + 1e-4          # A row 4 nearly equals B row 3: the most redundant pair
    sizes = torch.tensor([[1.0, 1.0, 1.0, 3.0, 2.0, 1.0, 1.0]])
    alive = torch.ones(1, 7, dtype=torch.bool)
    merge, distinct = bipartite_merge(hidden, sizes, alive, torch.tensor([1]))
    assert merge.into[0].tolist() == [-1, -1, -1, -1, 3, -1, -1]
    torch.testing.assert_close(merge.hidden[0, 3], (3 * hidden[0, 3] + 2 * hidden[0, 4]) / 5)
    assert merge.sizes[0].tolist() == [1.0, 1.0, 1.0, 5.0, 0.0, 1.0, 1.0]
    assert float(distinct[0, 4]) < 1e-6 and float(distinct[0, 3]) < 1e-6, "both ends of the pair are the least distinct"


def test_cls_and_padding_are_never_merged_away_and_sizes_are_conserved():
    generator = torch.Generator().manual_seed(1)
    hidden = torch.randn(2, 9, 8, generator=generator)
    hidden[:, 2] = hidden[:, 1]                  # CLS's neighbour duplicates a B row: still CLS (row 0) stays
    alive = torch.ones(2, 9, dtype=torch.bool)
    alive[1, 6:] = False                         # the second example has 6 real rows
    sizes = alive.float()
    merges = merge_count(alive.sum(1), 0.0)      # keep ratio 0: as many as one layer can merge
    assert merges.tolist() == [4, 2]
    merge, _ = bipartite_merge(hidden, sizes, alive, merges)
    assert (merge.into[:, 0] == -1).all()
    assert ((merge.into >= 0).sum(1)).tolist() == [4, 2]
    assert (merge.into[1, 6:] == -1).all() and (merge.into[1][merge.into[1] >= 0] < 6).all(), "only real rows join"
    assert merge.sizes.sum(1).tolist() == [9.0, 6.0]


def test_the_vit_keeps_the_scheduled_counts_and_records_where_every_patch_went():
    classifier = make_vit(num_layers=6, method=TokenMerging(r_max=0.6, alpha=1.0))
    output = classifier(classifier.pixel_values(random_pixels()), record=True)
    expected = classifier.method.expected_counts(classifier.num_tokens, 6)
    assert [int(record.kept[0].sum()) for record in output.loop.records] == expected
    pruned = TopK(r_max=0.6, alpha=1.0).expected_counts(145, 6)
    assert expected[:4] == pruned[:4], "as many rows as pruning keeps, until a layer would merge over half its rows"
    assert expected[4] == 44 - (44 - 1) // 2 > pruned[4]
    trace = classifier.trace(random_pixels())[0]
    for layer in range(6):
        holders = trace.groups(layer)
        assert trace.kept[layer, holders].all(), "every token is held by a row still alive"
        assert len(np.unique(holders)) == trace.keep_counts[layer]
    assert trace.groups(2)[0] == 0


def test_hard_output_is_the_same_alone_and_in_a_batch_and_with_nothing_to_merge_equals_the_model():
    classifier = make_vit(num_layers=4, method=TokenMerging(r_max=0.6, alpha=0.8))
    pixels = classifier.pixel_values(random_pixels(batch=3))
    with torch.no_grad():
        together = classifier(pixels).logits
        alone = torch.cat([classifier(pixels[i:i + 1]).logits for i in range(3)])
        torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)
        classifier.method = TokenMerging(r_max=0.0)
        torch.testing.assert_close(classifier(pixels).logits, classifier.model(pixel_values=pixels).logits,
                                   rtol=1e-5, atol=1e-5)


def test_merging_duplicate_rows_with_proportional_attention_changes_nothing():
    """Two identical rows and one row of size 2 draw the same attention: if the layer loop weighted merged keys by
    log(size) wrongly (or averaged by the wrong sizes), CLS's output would move."""
    classifier = make_vit(num_layers=2)
    blocks = classifier.blocks
    generator = torch.Generator().manual_seed(3)
    pairs = torch.randn(2, 8, 32, generator=generator)
    hidden = torch.cat([torch.randn(2, 1, 32, generator=generator), pairs.repeat_interleave(2, dim=1)], dim=1)
    alive = torch.ones(2, 17, dtype=torch.bool)     # rows 2k-1 (B) and 2k (A) are equal, k = 1..8
    with torch.no_grad():
        merged = run_layers(blocks, hidden, alive, TokenMerging(r_max=0.6, alpha=1.0))
        unmerged = run_layers(blocks, hidden, alive, NoPruning())
    torch.testing.assert_close(merged.hidden, unmerged.hidden, rtol=1e-5, atol=1e-5)

    class NoProportionalAttention(TokenMerging):   # a broken copy: sizes forgotten after merging
        def select(self, state):
            choice = super().select(state)
            choice.merge.sizes = torch.ones_like(choice.merge.sizes) * (choice.merge.into < 0)
            return choice

    with torch.no_grad():
        broken = run_layers(blocks, hidden, alive, NoProportionalAttention(r_max=0.6, alpha=1.0))
    assert not torch.allclose(broken.hidden, unmerged.hidden, rtol=1e-4, atol=1e-4)


def test_a_padded_text_batch_merges_each_text_as_it_would_alone():
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), TokenMerging(r_max=0.5, alpha=1.0))
    texts = ["a short one", "a much longer text with many more words in it than the first one has"]
    together = classifier.trace(texts)
    for text, traced in zip(texts, together):
        alone = classifier.trace([text])[0]
        np.testing.assert_allclose(traced.probabilities, alone.probabilities, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(traced.kept, alone.kept)
        np.testing.assert_array_equal(traced.merged_into, alone.merged_into)


def test_gradients_reach_the_weights_through_merged_rows():
    classifier = make_vit(num_layers=3, method=TokenMerging(r_max=0.6, alpha=0.8))
    classifier.train()
    output = classifier(classifier.pixel_values(random_pixels()), labels=torch.tensor([0, 1, 2, 0]))
    output.loss.backward()
    first_mlp = classifier.model.vit.layers[0].mlp
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in first_mlp.parameters())


def test_it_trains_under_bf16_autocast():
    classifier = make_vit(num_layers=3, method=TokenMerging(r_max=0.6, alpha=0.8))
    classifier.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = classifier(classifier.pixel_values(random_pixels()), labels=torch.tensor([0, 1, 2, 0]))
    output.loss.backward()
    assert torch.isfinite(output.loss)


def test_it_saves_builds_and_refuses_bad_settings(tmp_path):
    method = build_method("merge", r_max=0.5, alpha=1.5)
    save_method(method, tmp_path)
    assert load_method(tmp_path).config() == {"r_max": 0.5, "alpha": 1.5}
    for bad in ({"r_max": 1.0}, {"r_max": -0.1}, {"alpha": 0}, {"alpha": float("nan")}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TokenMerging(**bad)
