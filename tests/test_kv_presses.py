"""The KV lens's library: what each press keeps, the recorded attention, and decoding over an edited cache."""
from __future__ import annotations

import copy
import math

import pytest
import torch

from kv_helpers import REVIEW, make_lm
from pruning_core.generation import (PRESSES, build_press, generate, prefill, press_cache, press_from_label,
                                     tokens_kept)
from pruning_core.generation import attention as kv_attention
from pruning_core.generation.cache import RoomyLayer, answer, answer_logits
from pruning_core.generation.presses import keep_positions, pooled
from pruning_core.generation.tasks import needle_prompt

QUESTION = "is it good ?"


@pytest.fixture(scope="module")
def lm():
    return make_lm()


@pytest.fixture(scope="module")
def prompt(lm):
    return lm.prompt(REVIEW, QUESTION)


@pytest.fixture(scope="module")
def state(lm, prompt):
    return prefill(lm, prompt)


def eager_copy(lm):
    model = copy.deepcopy(lm.model)
    model.set_attn_implementation("eager")
    return model


def test_the_prompt_is_split_where_the_context_ends(lm, prompt):
    context = prompt.tokens[:prompt.context_length]
    assert context[0] == "this" and "boring" in context and "is" not in prompt.tokens[prompt.context_length:][1:2]
    assert prompt.tokens[prompt.context_length:] == lm.tokenizer.tokenize(QUESTION)
    start, end = prompt.offsets[1]
    assert REVIEW[start:end] == "movie"


def test_recorded_attention_equals_the_eager_models_attention(lm, prompt, monkeypatch):
    monkeypatch.setattr(kv_attention, "QUERY_CHUNK", 8)    # several chunks, so the chunking is checked too
    state = prefill(lm, prompt, window=5)
    ids = torch.cat([prompt.context_ids, prompt.question_ids], dim=1)
    with torch.no_grad():
        probabilities = eager_copy(lm)(input_ids=ids, output_attentions=True).attentions   # per layer (1, H, T, T)
    for layer, probs in enumerate(probabilities):
        grouped = probs.view(1, 2, 2, *probs.shape[-2:])                                     # (1, Hk, g, T, T)
        recorded = state.attention[layer]
        torch.testing.assert_close(recorded.received, grouped.sum(dim=(2, 3)), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(recorded.window, grouped[..., -5:, :].sum(dim=(2, 3)), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(recorded.last, grouped[..., -1, :].sum(dim=2), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(PRESSES))
def test_every_press_keeps_exactly_its_budget_in_every_layer_and_head(name, state):
    press = build_press(name)
    pressed = press_cache(state, press, 0.4)
    context = state.context_length
    expected = press.layer_budgets(math.ceil(0.4 * context), context, len(state.keys))
    for layer, positions in enumerate(pressed.positions):
        assert positions.shape == (1, 2, expected[layer])
        assert (positions.diff(dim=-1) > 0).all()          # distinct and in order
        assert pressed.keys[layer].shape[2] == expected[layer]
    if name == "full":
        assert expected == [context] * len(state.keys)
    else:
        assert sum(expected) == pytest.approx(math.ceil(0.4 * context) * len(expected), abs=len(expected))


def kept_sets(pressed, layer: int) -> list[set[int]]:
    return [set(map(int, head)) for head in pressed.positions[layer][0]]


def test_streaming_keeps_the_sinks_and_the_most_recent_tokens(state):
    context = state.context_length
    pressed = press_cache(state, build_press("streaming", sinks=3), 10)
    for layer in range(len(state.keys)):
        for kept in kept_sets(pressed, layer):
            assert kept == {0, 1, 2} | set(range(context - 7, context))


def test_h2o_keeps_recent_tokens_and_then_the_most_attended(state):
    context = state.context_length
    pressed = press_cache(state, build_press("h2o", recent=0.5), 10)
    received = state.attention[0].received[0, :, :context]                 # (Hk, C)
    for head, kept in enumerate(kept_sets(pressed, 0)):
        recent = set(range(context - 5, context))
        assert recent <= kept
        heavy = received[head, :context - 5].topk(5).indices.tolist()
        assert kept - recent == set(heavy)


def test_tova_and_snapkv_keep_the_top_of_their_own_scores(state):
    context = state.context_length
    last = state.attention[1].last[0, :, :context]
    for head, kept in enumerate(kept_sets(press_cache(state, build_press("tova"), 6), 1)):
        assert kept == set(last[head].topk(6).indices.tolist())
    votes = state.attention[1].window[0, :, :context]
    for head, kept in enumerate(kept_sets(press_cache(state, build_press("snapkv", kernel=1), 6), 1)):
        assert kept == set(votes[head].topk(6).indices.tolist())     # kernel 1: no pooling


def test_snapkv_votes_spread_to_their_neighbours():
    votes = torch.tensor([[[0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.5]]])
    spread = pooled(votes, 3)
    assert spread[0, 0, 2:5].tolist() == pytest.approx([0.3, 0.3, 0.3])
    assert spread[0, 0, 7].item() == pytest.approx(0.25)        # at the edge, the mean of the two it has
    assert keep_positions(spread, 3).tolist() == [[[2, 3, 4]]]


def test_pyramid_budgets_fall_from_the_lowest_layer_and_average_the_budget():
    budgets = build_press("pyramid", slope=0.5).layer_budgets(100, 400, 5)
    assert budgets == [150, 125, 100, 75, 50]
    assert build_press("pyramid", slope=0.0).layer_budgets(100, 400, 5) == [100] * 5
    assert max(build_press("pyramid", slope=1.0).layer_budgets(300, 400, 3)) == 400   # never more than the context


def test_the_full_cache_reproduces_generate_token_for_token(lm, prompt):
    ids = torch.cat([prompt.context_ids, prompt.question_ids], dim=1)
    with torch.no_grad():
        reference = lm.model.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=None,
                                      pad_token_id=0)[0, ids.shape[1]:].tolist()
    trace = generate(lm, prompt, build_press("full"), 1.0, max_new_tokens=12)
    assert trace.answer_ids and trace.answer_ids == reference[:len(trace.answer_ids)]
    assert (trace.present == len(trace.answer_ids)).all()      # every context token, for every answer token


def test_a_pressed_cache_continues_with_the_original_positions(lm, prompt, state):
    """Decoding over the pressed cache equals the whole prompt read by the eager model with the evicted context
    tokens hidden from the question's queries: positions (RoPE) must count on from the original length."""
    context, total = prompt.context_length, prompt.length
    pressed = press_cache(state, build_press("streaming", sinks=2), 8)     # the same tokens in every layer and head
    kept = set(map(int, pressed.positions[0][0, 0]))
    mask = torch.tril(torch.ones(total, total, dtype=torch.bool))
    evicted = [i for i in range(context) if i not in kept]
    mask[context:, evicted] = False
    additive = torch.zeros(1, 1, total, total).masked_fill(~mask, torch.finfo(torch.float32).min)
    ids = torch.cat([prompt.context_ids, prompt.question_ids], dim=1)
    with torch.no_grad():
        expected = eager_copy(lm)(input_ids=ids, attention_mask=additive).logits[0, -1].log_softmax(-1)
    got = answer_logits(lm, pressed, prompt)[0]
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    shifted = copy.copy(prompt)
    shifted.context_ids = prompt.context_ids[:, :len(kept)]       # as if positions restarted after the kept tokens
    assert not torch.allclose(answer_logits(lm, pressed, shifted)[0], expected, atol=1e-4)


def test_rolling_eviction_keeps_the_cache_from_growing(lm, prompt, state):
    press = build_press("tova")
    pressed = press_cache(state, press, 10)
    ids, _, present, _ = answer(lm, pressed, prompt, press, max_new_tokens=6, rolling=True)
    steps = len(ids)
    for layer in present:
        counts = [(layer[0] > step).sum(dim=-1) for step in range(steps)]    # (Hk,) context tokens cached per step
        assert all((count == max(1, 10 - step)).all() for step, count in enumerate(counts))
    _, _, still, _ = answer(lm, pressed, prompt, press, max_new_tokens=6, rolling=False)
    assert all(((layer[0] > 0).sum(-1) == 10).all() and layer.max() == layer[layer > 0].min() for layer in still)


@pytest.mark.parametrize("budget", [0, -1, 1.5, float("nan"), True, "half", None])
def test_bad_budgets_are_refused_with_their_value(budget):
    with pytest.raises(ValueError, match="budget"):
        tokens_kept(budget, 100)


def test_budgets_are_shares_or_counts():
    assert tokens_kept(0.25, 10) == 3 and tokens_kept(1.0, 10) == 10 and tokens_kept(25, 10) == 10
    assert tokens_kept(1, 10) == 1      # an int is a count


def test_bad_press_settings_are_refused_where_declared():
    with pytest.raises(ValueError, match="press must be one of.*'magic'"):
        build_press("magic")
    with pytest.raises(ValueError, match="recent"):
        build_press("h2o", recent=2.0)
    with pytest.raises(ValueError, match="window"):
        build_press("snapkv", window=3)


def test_a_label_names_the_settings_off_their_defaults_and_builds_the_press_back():
    assert build_press("snapkv").label == "snapkv" and build_press("snapkv", kernel=5).label == "snapkv"
    pyramid = build_press("pyramid", kernel=15, slope=0.3)
    assert pyramid.label == "pyramid:kernel=15:slope=0.3"
    rebuilt = press_from_label(pyramid.label)
    assert type(rebuilt) is type(pyramid) and rebuilt.settings == pyramid.settings
    for label, named in (("snapkv:kernel", "'kernel'"), ("snapkv:kernel=wide", "'kernel=wide'"),
                         ("snapkv:width=3", "width"), ("magic:kernel=3", "'magic'")):
        with pytest.raises(ValueError, match=named):
            press_from_label(label)


def test_the_roomy_cache_layer_appends_in_place_and_grows_past_its_room():
    keys, values = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4)
    layer = RoomyLayer(keys, values, room=2)
    buffer = layer.buffers[0].data_ptr()
    step = [torch.randn(1, 2, 1, 4) for _ in range(3)]
    layer.update(step[0], step[0] + 1)
    layer.update(step[1], step[1] + 1)
    assert layer.buffers[0].data_ptr() == buffer, "within its room an append writes in place, copying nothing"
    grown_keys, _ = layer.update(step[2], step[2] + 1)
    assert layer.buffers[0].data_ptr() != buffer and layer.buffers[0].shape[2] >= 8
    assert torch.equal(grown_keys, torch.cat([keys, *step], dim=2))
    assert torch.equal(layer.values, torch.cat([values, *(x + 1 for x in step)], dim=2)) and layer.get_seq_length() == 8
    layer.hold(keys[:, :, :3].clone(), values[:, :, :3].clone())
    assert torch.equal(layer.keys, keys[:, :, :3]) and layer.get_seq_length() == 3


def test_random_presses_differ_by_seed(state):
    first = kept_sets(press_cache(state, build_press("random", seed=1), 8), 0)
    assert first == kept_sets(press_cache(state, build_press("random", seed=1), 8), 0)
    assert first != kept_sets(press_cache(state, build_press("random", seed=2), 8), 0)


def test_keep_positions_returns_the_top_scores_in_order():
    scores = torch.tensor([[[0.1, 0.9, 0.3, 0.8, 0.0]]])
    assert keep_positions(scores, 2).tolist() == [[[1, 3]]]


def test_the_needle_sits_at_its_depth_and_its_answer_is_the_code(lm):
    articles = [f"the {word} team win the game ." for word in ("first", "new", "old", "last")] * 3
    early = needle_prompt(lm, articles, 0.0, seed=1, haystack_tokens=40)
    late = needle_prompt(lm, articles, 1.0, seed=1, haystack_tokens=40)
    assert early.needle_start < late.needle_start
    assert early.code == late.code and len(early.code) == 5
    assert early.prompt.context_text.startswith("The secret code is")
    with pytest.raises(ValueError, match="depth"):
        needle_prompt(lm, articles, 1.5)


@pytest.mark.parametrize("name, settings", [("snapkv", {"kernel": 4.0}), ("streaming", {"sinks": 2.5}),
                                            ("pyramid", {"kernel": 2.0})])
def test_settings_off_their_steps_are_refused(name, settings):
    with pytest.raises(ValueError, match="plus a multiple of"):
        build_press(name, **settings)
