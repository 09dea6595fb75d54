"""Prefill, press, answer: the key-value cache pruned for real.

1. `prefill` reads context and question once with the lens's attention recording what each prompt token received
   (the presses' scores see the question, as SnapKV's observation window does).
2. `press_cache` keeps each layer's budget of context tokens per key-value head: their keys and values are
   gathered into a smaller cache; the question's entries are dropped.
3. `answer` re-reads the question over the pressed cache, positions counting on from the original prompt (RoPE
   positions are already inside the kept keys), then decodes greedily; with `rolling`, a press that has a
   decoding rule evicts one context token per answer token, so the cache stops growing. Every answer token, the
   first included, sees only what the press kept.
Batch 1. Shapes: Hk key-value heads, C context tokens, k kept, D head dims.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from .attention import OBSERVATION_WINDOW, LayerAttention, Recorder, recording
from .model import LanguageModel, Prompt
from .presses import Press, keep_positions, tokens_kept
from .trace import GenerationTrace



@dataclass
class Prefill:
    prompt: Prompt
    keys: list[Tensor]                 # per layer (1, Hk, C, D): the context's entries
    values: list[Tensor]
    attention: dict[int, LayerAttention]
    seconds: float

    @property
    def context_length(self) -> int:
        return self.prompt.context_length


@dataclass
class Pressed:
    """A pressed cache: per layer the kept context positions, their keys and values, and every context score."""

    positions: list[Tensor]   # per layer (1, Hk, k_l), ascending
    keys: list[Tensor]        # per layer (1, Hk, k_l, D)
    values: list[Tensor]
    scores: list[Tensor]      # per layer (1, Hk, C)
    context_length: int
    received: list[Tensor]    # per layer (1, Hk, k_l): attention each kept token received at prefill (H2O's sum)

    def nbytes(self, extra_tokens: int = 0) -> int:
        """Bytes of keys and values held, with `extra_tokens` more per layer and head (the question, the answer)."""
        total = 0
        for keys in self.keys:
            batch, heads, kept, dims = keys.shape
            total += 2 * batch * heads * (kept + extra_tokens) * dims * keys.element_size()
        return total


@torch.inference_mode()
def prefill(lm: LanguageModel, prompt: Prompt, window: int = OBSERVATION_WINDOW) -> Prefill:
    ids = torch.cat([prompt.context_ids, prompt.question_ids], dim=1)
    start = time.perf_counter()
    with recording(Recorder(window=window)) as recorder:
        output = lm.model(input_ids=ids, use_cache=True)
    seconds = time.perf_counter() - start
    context = prompt.context_length
    cache = output.past_key_values
    keys = [layer.keys[:, :, :context] for layer in cache.layers]
    values = [layer.values[:, :, :context] for layer in cache.layers]
    return Prefill(prompt, keys, values, recorder.layers, seconds)


def press_cache(state: Prefill, press: Press, budget: float | int) -> Pressed:
    """Each layer keeps its budget of context tokens per key-value head, by the press's scores."""
    context = state.context_length
    kept = tokens_kept(budget, context)
    budgets = press.layer_budgets(kept, context, len(state.keys))
    positions, keys, values, scores, received = [], [], [], [], []
    for layer, (layer_keys, layer_values) in enumerate(zip(state.keys, state.values)):
        shape = tuple(layer_keys.shape[:3])
        layer_scores = press.scores(state.attention.get(layer), context, budgets[layer], shape, layer_keys.device)
        chosen = keep_positions(layer_scores, budgets[layer])                       # (1, Hk, k)
        index = chosen.unsqueeze(-1).expand(-1, -1, -1, layer_keys.shape[-1])     # (1, Hk, k, D)
        positions.append(chosen)
        keys.append(layer_keys.gather(2, index))
        values.append(layer_values.gather(2, index))
        scores.append(layer_scores)
        attention = state.attention.get(layer)
        received.append(attention.received[..., :context].gather(2, chosen) if attention is not None
                        else torch.zeros(chosen.shape))
    return Pressed(positions, keys, values, scores, context, received)


class RoomyLayer(DynamicLayer):
    """A cache layer whose keys and values live in buffers with room to grow. transformers' DynamicLayer appends with
    torch.cat, copying the whole cache at every decoded token (a cost that grows with the cache, so it flatters
    pressing); this layer writes new entries in place, so a decoded token reads the cache once."""

    def __init__(self, keys: Tensor, values: Tensor, room: int = 0):
        """keys and values (B, Hk, S, D), and room for `room` more tokens before the buffers must grow."""
        super().__init__()
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        self.buffers = self._buffers(keys, values, keys.shape[-2] + room)
        self.hold(keys, values)

    @staticmethod
    def _buffers(keys: Tensor, values: Tensor, capacity: int) -> tuple[Tensor, Tensor]:
        return tuple(x.new_empty(*x.shape[:2], capacity, x.shape[-1]) for x in (keys, values))

    def hold(self, keys: Tensor, values: Tensor) -> None:
        """Hold exactly these entries (after an eviction); they must not be views of the buffers."""
        length = keys.shape[-2]
        if length > self.buffers[0].shape[-2]:
            self.buffers = self._buffers(keys, values, 2 * length)
        for buffer, entries in zip(self.buffers, (keys, values)):
            buffer[:, :, :length] = entries
        self.keys, self.values = (buffer[:, :, :length] for buffer in self.buffers)

    def update(self, key_states: Tensor, value_states: Tensor, *args, **kwargs) -> tuple[Tensor, Tensor]:
        start = self.keys.shape[-2]
        end = start + key_states.shape[-2]
        if end > self.buffers[0].shape[-2]:
            self.hold(torch.cat([self.keys, key_states], dim=2), torch.cat([self.values, value_states], dim=2))
        else:
            self.buffers[0][:, :, start:end] = key_states
            self.buffers[1][:, :, start:end] = value_states
            self.keys, self.values = (buffer[:, :, :end] for buffer in self.buffers)
        return self.keys, self.values


def as_cache(pressed: Pressed, room: int = 0) -> DynamicCache:
    """A transformers cache holding the pressed keys and values, with room for `room` more tokens per layer."""
    cache = DynamicCache()
    cache.layers = [RoomyLayer(keys, values, room) for keys, values in zip(pressed.keys, pressed.values)]
    return cache


@torch.inference_mode()
def answer_logits(lm: LanguageModel, pressed: Pressed, prompt: Prompt, answer_ids: list[int] | None = None) -> Tensor:
    """(max(A, 1), V) log-probabilities of each answer position, teacher-forced: row 0 is the first answer token's
    distribution, row i the next one's after answer_ids[:i]. Greedy decoding writes answer_ids exactly when each row's
    argmax is the next answer id."""
    ids = prompt.question_ids
    if answer_ids:
        ids = torch.cat([ids, torch.tensor([answer_ids[:-1]])], dim=1) if len(answer_ids) > 1 else ids
    start = prompt.context_length
    positions = torch.arange(start, start + ids.shape[1]).unsqueeze(0)
    output = lm.model(input_ids=ids, past_key_values=as_cache(pressed, ids.shape[1]), position_ids=positions,
                      use_cache=True)
    rows = output.logits[0, prompt.question_ids.shape[1] - 1:].float()
    return rows.log_softmax(dim=-1)


@torch.inference_mode()
def answer(lm: LanguageModel, pressed: Pressed, prompt: Prompt, press: Press | None = None,
           max_new_tokens: int = 48, rolling: bool = False, stop_at_eos: bool = True
           ) -> tuple[list[int], Tensor, list[Tensor], float]:
    """Greedy answer over the pressed cache -> (answer ids, first token's log-probabilities (V,), per layer (1, Hk, C)
    the number of answer tokens each context token was present for, decode ms per token). stop_at_eos False: always
    `max_new_tokens` tokens (for timing)."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a whole number ≥ 1, got {max_new_tokens!r}.")
    rolls = rolling and press is not None and press.rolls
    question = prompt.question_ids
    cache = as_cache(pressed, question.shape[1] + max_new_tokens)
    position = prompt.context_length
    output = lm.model(input_ids=question, past_key_values=cache,
                      position_ids=torch.arange(position, position + question.shape[1]).unsqueeze(0), use_cache=True)
    position += question.shape[1]
    first = output.logits[0, -1].float().log_softmax(dim=-1)
    context_positions = [p.clone() for p in pressed.positions]              # per layer (1, Hk, k) still cached
    present = [torch.zeros_like(scores, dtype=torch.long) for scores in pressed.scores]
    accumulated = [r.float().clone() for r in pressed.received]              # per layer (1, Hk, k)
    eos = set(_ids(lm.tokenizer.eos_token_id)) if stop_at_eos else set()
    answer_ids: list[int] = []
    next_id = int(first.argmax())
    decode_seconds, steps = 0.0, 0
    while next_id not in eos:
        for layer, kept in enumerate(context_positions):   # every context token now cached helps this answer token
            present[layer].scatter_add_(2, kept, torch.ones_like(kept))
        answer_ids.append(next_id)
        if len(answer_ids) >= max_new_tokens:
            break
        start = time.perf_counter()
        recorder = Recorder() if rolls else None
        with recording(recorder) if recorder else nullcontext():
            output = lm.model(input_ids=torch.tensor([[next_id]]), past_key_values=cache,
                              position_ids=torch.tensor([[position]]), use_cache=True)
        if rolls:
            _evict_one(cache, press, recorder, context_positions, accumulated)
        decode_seconds += time.perf_counter() - start
        steps += 1
        position += 1
        next_id = int(output.logits[0, -1].argmax())
    return answer_ids, first, present, 1000 * decode_seconds / max(steps, 1)


def _evict_one(cache, press: Press, recorder: Recorder, context_positions: list[Tensor],
               accumulated: list[Tensor]) -> None:
    """Each layer and key-value head drops its lowest-scoring context entry (the cache holds the context first)."""
    for layer, kept in enumerate(context_positions):
        count = kept.shape[-1]
        if count <= 1:
            continue
        attention = recorder.decode[layer][..., :count]                       # (1, Hk, k)
        accumulated[layer] += attention
        scores = press.step_scores(attention, accumulated[layer])
        stay = keep_positions(scores, count - 1)                               # (1, Hk, k - 1) indices into the entries
        cache_layer = cache.layers[layer]
        dims = cache_layer.keys.shape[-1]
        index = stay.unsqueeze(-1).expand(-1, -1, -1, dims)
        rest_keys, rest_values = cache_layer.keys[:, :, count:], cache_layer.values[:, :, count:]
        cache_layer.hold(torch.cat([cache_layer.keys[:, :, :count].gather(2, index), rest_keys], dim=2),
                         torch.cat([cache_layer.values[:, :, :count].gather(2, index), rest_values], dim=2))
        context_positions[layer] = kept.gather(2, stay)
        accumulated[layer] = accumulated[layer].gather(2, stay)


def generate(lm: LanguageModel, prompt: Prompt, press: Press, budget: float | int = 0.25,
             max_new_tokens: int = 48, rolling: bool = False, state: Prefill | None = None) -> GenerationTrace:
    """The answer to `prompt` with its context pressed, and the trace of which context tokens each layer kept."""
    state = state or prefill(lm, prompt)
    pressed = press_cache(state, press, budget)
    ids, first, present, ms = answer(lm, pressed, prompt, press, max_new_tokens, rolling)
    top = first.exp().topk(5)
    extra = prompt.question_ids.shape[1] + len(ids)
    full_bytes = sum(2 * (k.numel() + k[..., :1, :].numel() * extra) * k.element_size() for k in state.keys)
    return GenerationTrace(
        tokens=prompt.tokens, context_length=prompt.context_length,
        present=torch.stack([p[0] for p in present]).numpy(),
        scores=torch.stack([s[0] for s in pressed.scores]).float().numpy(),
        answer_ids=ids, answer=lm.decode(ids), press=press.describe(), press_config=press.config(), budget=budget,
        context_text=prompt.context_text, offsets=prompt.offsets,
        first_token=[(lm.tokenizer.decode([int(i)]), float(p)) for p, i in zip(top.values, top.indices)],
        prefill_seconds=state.seconds, decode_ms_per_token=ms, cache_bytes=pressed.nbytes(extra),
        full_cache_bytes=full_bytes)


def _ids(value) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [int(value)]

