"""Self-attention that returns only the probabilities a method needs, on the fused or the eager path."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pruning_core.attention import self_attention
from pruning_core.loop import additive_mask

HEADS = 4


def projections(hidden: int = 16, seed: int = 0) -> tuple[nn.Linear, nn.Linear, nn.Linear]:
    torch.manual_seed(seed)
    return nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)


def inputs(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(3, 7, 16, generator=generator)
    alive = torch.ones(3, 7, dtype=torch.bool)
    alive[1, 5:] = False   # a shorter example, padded
    return hidden, additive_mask(alive, hidden.dtype)


def reference(hidden, mask, query, key, value):
    """The fused kernel on its own: what every path must compute."""
    batch, length, _ = hidden.shape
    q, k, v = (p(hidden).view(batch, length, HEADS, -1).transpose(1, 2) for p in (query, key, value))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(batch, length, -1)


@pytest.mark.parametrize("probs", [None, "cls", "full"])
def test_every_path_computes_the_fused_attention_output(probs):
    hidden, mask = inputs()
    query, key, value = projections()
    with torch.no_grad():
        context, weights = self_attention(hidden, query, key, value, HEADS, mask, probs)
        expected = reference(hidden, mask, query, key, value)
    torch.testing.assert_close(context, expected, rtol=1e-5, atol=1e-6)
    assert (weights is None) == (probs is None)
    if weights is not None:
        assert weights.shape == (3, HEADS, 1 if probs == "cls" else 7, 7)
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))
        assert float(weights[1, :, :, 5:].max()) == 0.0, "padding receives no attention"


def test_cls_probabilities_are_the_first_row_of_the_full_matrix():
    hidden, mask = inputs()
    query, key, value = projections()
    with torch.no_grad():
        _, cls_row = self_attention(hidden, query, key, value, HEADS, mask, "cls")
        _, full = self_attention(hidden, query, key, value, HEADS, mask, "full")
    torch.testing.assert_close(cls_row, full[:, :, :1])


def test_training_on_a_cpu_takes_the_eager_path_with_the_same_outputs_and_gradients(monkeypatch):
    hidden, mask = inputs()
    ours_in, reference_in = hidden.clone().requires_grad_(), hidden.clone().requires_grad_()
    ours_proj, reference_proj = projections(), projections()
    expected = reference(reference_in, mask, *reference_proj)
    (expected ** 2).sum().backward()

    def fused_is_not_called(*args, **kwargs):
        raise AssertionError("training on a CPU should not use the fused kernel")

    monkeypatch.setattr(F, "scaled_dot_product_attention", fused_is_not_called)
    context, _ = self_attention(ours_in, *ours_proj, HEADS, mask, None)
    torch.testing.assert_close(context, expected, rtol=1e-5, atol=1e-6)
    (context ** 2).sum().backward()
    torch.testing.assert_close(ours_in.grad, reference_in.grad, rtol=1e-4, atol=1e-6)
    for ours, theirs in zip(ours_proj, reference_proj):
        torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-4, atol=1e-6)
