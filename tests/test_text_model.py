"""The pruned layer loop on tiny BERT, DistilBERT and RoBERTa models."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import REVIEWS, make_bert, make_distilbert, make_roberta, make_tokenizer
from pruning_core.loop import compact
from pruning_core.methods import LayerState, LearnedTokenPruning, NoPruning, TopK, schedule_counts
from pruning_core.text import PrunedTextClassifier


def padded_batch(seed: int = 1, vocab: int = 80, lengths=(9, 17, 5, 12), pad: int = 0):
    """Random ids with CLS=2 first and SEP=3 last, right-padded with `pad`."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.full((len(lengths), width), pad)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(5, vocab, (n,), generator=generator)
        ids[row, 0], ids[row, n - 1] = 2, 3
        mask[row, :n] = 1
    return ids, mask


@pytest.mark.parametrize("record", [False, True], ids=["fused-attention", "recorded-eager"])
@pytest.mark.parametrize("make_model", [make_bert, make_distilbert, make_roberta])
def test_no_pruning_matches_transformers(make_model, record):
    model = make_model()
    ids, mask = padded_batch(pad=model.config.pad_token_id)
    classifier = PrunedTextClassifier(model, make_tokenizer(), NoPruning())
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
        ours = classifier(ids, mask, record=record).logits
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


METHODS = {
    "ltp": lambda layers: LearnedTokenPruning(layers, thresholds=[0.7, 0.8, 0.9, 1.0][:layers]),
    "topk-schedule": lambda layers: TopK(r_max=0.6, alpha=1.0),
    "topk-received": lambda layers: TopK(keep_ratios=[0.9, 0.7, 0.5, 0.4][:layers], score="received"),
}


@pytest.mark.parametrize("name", METHODS)
def test_padding_invariance(name):
    """A text alone and inside a padded batch of longer texts: same scores, kept tokens and logits."""
    model = make_bert()
    classifier = PrunedTextClassifier(model, make_tokenizer(), METHODS[name](4))
    alone = classifier.trace([REVIEWS[0]])[0]
    together = classifier.trace(REVIEWS, batch_size=len(REVIEWS))[0]
    assert alone.kept.shape == together.kept.shape
    np.testing.assert_array_equal(alone.kept, together.kept)
    np.testing.assert_allclose(alone.scores, together.scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(alone.probabilities, together.probabilities, rtol=1e-5, atol=1e-6)
    assert alone.keep_counts[-1] < len(alone.tokens), "the method should prune something"


@pytest.mark.parametrize("name", METHODS)
def test_hard_pruning_shortens_hidden_states(name):
    """Each feed-forward runs on exactly the kept rows; the last layer on CLS alone, or, when recording, on the rows
    alive on entry to it (its decision is recorded, not applied: the head reads CLS only)."""
    model = make_bert()
    classifier = PrunedTextClassifier(model, make_tokenizer(), METHODS[name](4))
    rows_seen = []
    for block in classifier.backbone.blocks:
        block.layer.intermediate.register_forward_hook(lambda module, args, out: rows_seen.append(args[0].shape[1]))
    encoding = classifier.encode(REVIEWS[:1])
    with torch.no_grad():
        recorded = classifier(encoding.input_ids, encoding.attention_mask, record=True)
        counts = [int(record.kept.sum()) for record in recorded.loop.records]
        assert rows_seen == counts[:-1] + [counts[-2]], "each feed-forward runs on exactly the kept rows"
        assert recorded.loop.hidden.shape[1] == counts[-2]
        rows_seen.clear()
        plain = classifier(encoding.input_ids, encoding.attention_mask)
    assert rows_seen == counts[:-1] + [1], "the last layer computes CLS's row alone"
    assert counts[-2] < encoding.input_ids.shape[1] and plain.loop.hidden.shape[1] == 1
    torch.testing.assert_close(plain.logits, recorded.logits, rtol=1e-5, atol=1e-5)


def test_the_last_layers_own_decision_cannot_change_the_prediction():
    """A schedule that keeps everything but drops all but CLS in the last layer gives the logits of no pruning."""
    model = make_bert()
    classifier = PrunedTextClassifier(model, make_tokenizer(), TopK(keep_ratios=[1.0, 1.0, 1.0, 0.01]))
    encoding = classifier.encode(REVIEWS)
    with torch.no_grad():
        pruned = classifier(encoding.input_ids, encoding.attention_mask, record=True)
        expected = model(input_ids=encoding.input_ids, attention_mask=encoding.attention_mask).logits
    torch.testing.assert_close(pruned.logits, expected, rtol=1e-5, atol=1e-5)
    traces = classifier.trace(REVIEWS)
    assert all(trace.keep_counts[-1] == 1 for trace in traces), "the last layer's decision is recorded"
    assert [trace.read_count for trace in traces] == [len(trace.tokens) for trace in traces]


@pytest.mark.parametrize("name", METHODS)
def test_dropped_tokens_never_return_and_cls_stays(name):
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), METHODS[name](4))
    for trace in classifier.trace(REVIEWS):
        kept = trace.kept
        assert kept[:, 0].all(), "CLS is never dropped"
        assert not (kept[1:] & ~kept[:-1]).any(), "a dropped token comes back"
        for layer in range(1, trace.num_layers):
            gone_before = ~kept[layer - 1]
            assert np.isnan(trace.scores[layer, gone_before]).all()


def test_topk_schedule_counts_match_the_vision_study():
    assert schedule_counts(145, 8, r_max=0.6, alpha=2) == [143, 137, 125, 106, 81, 54, 29, 12]


def test_topk_model_keeps_exactly_the_scheduled_counts():
    model = make_bert(num_layers=8)
    classifier = PrunedTextClassifier(model, make_tokenizer(), TopK(r_max=0.6, alpha=2))
    ids, mask = padded_batch(lengths=(145, 60), vocab=len(make_tokenizer()))
    with torch.no_grad():
        records = classifier(ids, mask, record=True).loop.records
    assert [int(r.kept[0].sum()) for r in records] == [143, 137, 125, 106, 81, 54, 29, 12]
    assert [int(r.kept[1].sum()) for r in records] == schedule_counts(60, 8, 0.6, 2)


def test_topk_explicit_ratios_are_fractions_of_the_real_length():
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), TopK(keep_ratios=[1.0, 1.0, 0.5, 0.3]))
    ids, mask = padded_batch(lengths=(40, 21))
    with torch.no_grad():
        records = classifier(ids, mask, record=True).loop.records
    assert [int(r.kept[0].sum()) for r in records] == [40, 40, 20, 12]
    assert [int(r.kept[1].sum()) for r in records] == [21, 21, 10, 6]


def test_ltp_hard_mode_removes_exactly_the_tokens_below_threshold():
    method = LearnedTokenPruning(4, thresholds=[0.0, 0.9, 0.0, 1.1])
    classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), method)
    for trace in classifier.trace(REVIEWS):
        for layer, threshold in enumerate(trace.thresholds):
            present = ~np.isnan(trace.scores[layer])
            expected = present & (trace.scores[layer] >= threshold)
            expected[0] = True
            np.testing.assert_array_equal(trace.kept[layer], expected)
        assert trace.thresholds == pytest.approx([0.0, 0.9, 0.0, 1.1])


def test_soft_mode_gradients_reach_thresholds_and_lambda_raises_the_loss():
    ids, mask = padded_batch()
    labels = torch.tensor([0, 1, 0, 1])
    losses = {}
    for keep_lambda in (0.0, 0.5):
        method = LearnedTokenPruning(4, thresholds=[0.9] * 4, temperature=0.05, keep_lambda=keep_lambda, mode="soft")
        classifier = PrunedTextClassifier(make_bert(), make_tokenizer(), method)
        output = classifier(ids, mask, labels=labels)
        output.loss.backward()
        losses[keep_lambda] = output.loss.item()
        assert method.thresholds.grad is not None and method.thresholds.grad.abs().sum() > 0
        assert output.loop.hidden.shape[1] == ids.shape[1], "soft mode removes nothing"
    assert losses[0.5] > losses[0.0]


def test_trace_agrees_with_the_model(classifier):
    classifier.method = TopK(keep_ratios=[0.8, 0.6, 0.5, 0.3])
    encoding = classifier.encode(REVIEWS)
    with torch.no_grad():
        output = classifier(encoding.input_ids, encoding.attention_mask, record=True)
    traces = classifier.trace(REVIEWS)
    loop = output.loop
    for row, trace in enumerate(traces):
        survivors = sorted(loop.positions[row][loop.alive[row]].tolist())   # the rows the last layer ran on
        assert np.flatnonzero(trace.drop_layer >= trace.num_layers - 1).tolist() == survivors
        assert np.flatnonzero(trace.read_mask).tolist() == survivors
        assert set(np.flatnonzero(trace.kept[-1])) < set(survivors), "the last layer's decision is recorded"
        assert trace.prediction == int(output.logits[row].argmax())
        assert trace.tokens == classifier.tokenizer.convert_ids_to_tokens(encoding.input_ids[row, :len(trace.tokens)])
    frame = traces[0].to_frame()
    assert set(frame.columns) >= {"layer", "token_index", "token", "score", "kept", "drop_layer"}
    assert len(frame) == int((~np.isnan(traces[0].scores)).sum())


def test_compact_moves_kept_rows_to_the_front_in_order_and_pads_the_rest():
    keep = torch.tensor([[True, False, True, True, False],
                         [True, True, False, False, False]])
    features = torch.arange(2 * 5 * 3, dtype=torch.float32).view(2, 5, 3)
    positions = torch.arange(5).expand(2, 5)
    alive, gathered, kept_positions = compact(keep, features, positions)
    assert alive.tolist() == [[True, True, True], [True, True, False]]
    assert kept_positions[0].tolist() == [0, 2, 3] and kept_positions[1, :2].tolist() == [0, 1]
    for row in range(2):
        for slot, position in enumerate(kept_positions[row][alive[row]].tolist()):
            assert torch.equal(gathered[row, slot], features[row, position])


def test_topk_breaks_score_ties_by_position_and_skips_dead_rows():
    method = TopK(keep_ratios=[0.5])
    cls_attention = torch.full((1, 7), 0.1)          # every row ties on CLS attention
    alive = torch.tensor([[True, True, False, True, True, True, True]])
    state = LayerState(0, cls_attention, alive, torch.zeros(1, 7, 4), torch.tensor([6]), 1, alive.float())
    keep = method.select(state).keep
    assert keep[0].nonzero().flatten().tolist() == [0, 1, 3]   # CLS, then the earliest tied live rows
