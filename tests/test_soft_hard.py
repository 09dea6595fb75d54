"""Soft (training) and hard (inference) modes prune the same tokens when the soft masks are sharp, and the
cached grouped scoring path keeps exactly the tokens the one-piece eager computation keeps."""
from __future__ import annotations

import pytest
import torch

from conftest import WORDS, make_bert, make_tokenizer
from pruning_core import attention
from pruning_core.methods import LearnedTokenPruning, TaskSpecificDynamicPruning, TopK
from pruning_core.text import PrunedTextClassifier


def long_texts(count: int = 6, seed: int = 0) -> list[str]:
    generator = torch.Generator().manual_seed(seed)
    return [" ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (int(n),), generator=generator))
            for n in torch.randint(40, 160, (count,), generator=generator)]


def kept_per_layer(classifier: PrunedTextClassifier, texts: list[str]) -> torch.Tensor:
    """(B, L) tokens alive after each layer: hard mode from the trace, soft mode from the masks."""
    encoding = classifier.encode(texts)
    with torch.no_grad():
        if not classifier.method.is_soft:
            return torch.tensor([trace.keep_counts for trace in classifier.trace(texts, batch_size=len(texts))])
        counts = []
        method = classifier.method
        original = method.select

        def counting(state):
            choice = original(state)
            counts.append(((choice.soft_mask > 0.5) & state.alive).sum(dim=1) + (~(choice.soft_mask[:, 0] > 0.5)))
            return choice
        method.select = counting
        try:
            classifier(encoding.input_ids, encoding.attention_mask)
        finally:
            del method.select
        return torch.stack(counts, dim=1)


def ltp_thresholds(classifier: PrunedTextClassifier, texts: list[str], keep: float = 0.6) -> list[float]:
    """Per layer, a threshold near the scores' keep-quantile (so every layer prunes some tokens)."""
    traces = PrunedTextClassifier(classifier.model, classifier.tokenizer).trace(texts)
    scores = torch.cat([torch.tensor(t.scores[0]) for t in traces])
    base = float(scores.quantile(1 - keep))
    return [base * (1 + 0.3 * layer) for layer in range(classifier.num_layers)]


def test_ltp_soft_with_sharp_masks_keeps_what_hard_mode_keeps():
    texts = long_texts()
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer())
    thresholds = ltp_thresholds(classifier, texts)
    classifier.method = LearnedTokenPruning(4, thresholds, temperature=1e-9, mode="hard")
    hard = kept_per_layer(classifier, texts)
    classifier.method = LearnedTokenPruning(4, thresholds, temperature=1e-9, mode="soft")
    soft = kept_per_layer(classifier, texts)
    assert hard[:, -1].float().mean() < 0.5 * hard[:, 0].float().mean(), "the thresholds should prune"
    assert torch.equal(soft, hard)


def test_ltp_scores_are_a_share_of_the_texts_attention_so_removal_does_not_inflate_them():
    """Scores divide by the real length: after removals the kept tokens' scores still sum to at most 1."""
    texts = long_texts(3)
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer())
    classifier.method = LearnedTokenPruning(4, ltp_thresholds(classifier, texts))
    for trace in classifier.trace(texts):
        for layer in range(1, 4):
            live = trace.scores[layer][trace.kept[layer - 1]]
            assert live.sum() <= trace.kept[layer - 1].sum() / len(trace.tokens) + 1e-5


def test_ts_dtp_soft_keeps_what_hard_mode_keeps():
    texts = long_texts()
    torch.manual_seed(0)
    method = TaskSpecificDynamicPruning(4, 32, offsets=[-0.3, 0.0, 0.2, 0.4], mode="hard")
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer(), method)
    hard = kept_per_layer(classifier, texts)
    method.mode = "soft"
    assert torch.equal(kept_per_layer(classifier, texts), hard)


@pytest.mark.parametrize("method", [
    lambda: LearnedTokenPruning(4, [0.004, 0.008, 0.01, 0.012]),
    lambda: TopK(r_max=0.7, alpha=1.0, score="received"),
])
def test_grouped_scoring_keeps_exactly_what_one_piece_eager_attention_keeps(monkeypatch, method):
    texts = long_texts(12, seed=3)
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer(), method())
    monkeypatch.setattr(attention, "GROUP_BYTES", 1)          # one example at a time
    grouped = classifier.trace(texts, batch_size=12)
    monkeypatch.setattr(attention, "GROUP_BYTES", 10 ** 12)   # the whole batch in one piece
    whole = classifier.trace(texts, batch_size=12)
    for a, b in zip(grouped, whole):
        assert (a.kept == b.kept).all()
    with torch.enable_grad():   # the autograd path computes the same decisions
        encoding = classifier.encode(texts)
        output = classifier(encoding.input_ids, encoding.attention_mask, record=True)
    for row, trace in enumerate(whole):
        kept = torch.stack([record.kept[row, :len(trace.tokens)] for record in output.loop.records])
        assert (kept.numpy() == trace.kept).all()
