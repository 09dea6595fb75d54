"""Self-attention that returns only the probabilities a method needs, on the fused or the eager path."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pruning_core import attention
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


def full_probabilities(hidden, mask, query, key):
    batch, length, _ = hidden.shape
    q, k = (p(hidden).view(batch, length, HEADS, -1).transpose(1, 2) for p in (query, key))
    return ((q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5 + mask).softmax(-1)   # (B, H, K, K)


@pytest.mark.parametrize("summary", [None, "cls", "received"])
def test_every_path_computes_the_fused_attention_output(summary):
    hidden, mask = inputs()
    query, key, value = projections()
    weight = (mask[:, 0, 0] == 0).float()
    with torch.no_grad():
        context, scores = self_attention(hidden, query, key, value, HEADS, mask, summary, weight)
        expected = reference(hidden, mask, query, key, value)
    torch.testing.assert_close(context, expected, rtol=1e-5, atol=1e-6)
    assert (scores is None) == (summary is None)
    if scores is not None:
        assert scores.shape == (3, 7)
        assert float(scores[1, 5:].max()) == 0.0, "padding receives no attention"


def test_cls_summary_is_the_first_row_of_the_probabilities_averaged_over_heads():
    hidden, mask = inputs()
    query, key, value = projections()
    with torch.no_grad():
        _, cls_row = self_attention(hidden, query, key, value, HEADS, mask, "cls")
        probs = full_probabilities(hidden, mask, query, key)
    torch.testing.assert_close(cls_row, probs[:, :, 0].mean(dim=1))


@pytest.mark.parametrize("group_bytes", [1, 10 ** 9])   # one example per group, or the whole batch at once
def test_received_summary_is_the_weighted_column_sum_of_the_probabilities(monkeypatch, group_bytes):
    monkeypatch.setattr(attention, "GROUP_BYTES", group_bytes)
    hidden, mask = inputs()
    query, key, value = projections()
    weight = torch.rand(3, 7, generator=torch.Generator().manual_seed(2)) * (mask[:, 0, 0] == 0)
    with torch.no_grad():
        _, received = self_attention(hidden, query, key, value, HEADS, mask, "received", weight)
        probs = full_probabilities(hidden, mask, query, key)
    expected = (probs.mean(dim=1) * weight[:, :, None]).sum(dim=1)
    torch.testing.assert_close(received, expected, rtol=1e-5, atol=1e-7)


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
