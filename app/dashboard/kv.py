"""The KV cache page's service: its prompts (a pasted context, an IMDb review, an AG News needle), one prefill shared
by the full-cache and the pressed answer, what each answer cost, which context tokens each view colours, and the
exports. No Streamlit: the widgets are in kv_ui, the HTML and figures in figures.kv.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

import numpy as np

from pruning_core.generation import PRESSES, GenerationTrace, LanguageModel, Press, Prompt, build_press, generate, \
    prefill
from pruning_core import hub
from pruning_core.generation import tasks
from pruning_core.text.data import TextDataset

SOURCES = {"paste": "Paste a context and a question", "imdb": "An IMDb test review",
           "needle": "A needle in AG News articles"}
SOURCE_DATASETS = {"imdb": "imdb", "needle": "ag_news"}
PRESS_NAMES = tuple(name for name in PRESSES if name != "full")   # the full cache is the reference, always run
DEFAULT_PRESS = "snapkv"
BUDGET_LOW, BUDGET_HIGH, BUDGET_STEP, DEFAULT_BUDGET = 0.05, 1.0, 0.05, 0.25
MAX_NEW_TOKENS, DEFAULT_NEW_TOKENS = 64, 24
HAYSTACK_SIZES = (500, 1000, 2000)   # tokens of AG News articles around the needle
DEFAULT_HAYSTACK = 1000
EXAMPLE_CONTEXT = ("The Lighthouse Café opens at 7 am on weekdays and at 9 am on weekends. Its owner, Marta Silva, "
                   "bakes the bread herself every morning. The café is closed on Mondays in winter, when Marta visits "
                   "her sister in Porto. The most popular dish is the lemon cake, and the coffee comes from a small "
                   "farm in Colombia. On Fridays a local band plays jazz from 8 pm until midnight.")
EXAMPLE_QUESTION = "Where does the coffee come from?"   # the full cache says Colombia; SnapKV at 25% loses it


@dataclass
class LabelledPrompt:
    """A prompt, its question, and what a right answer holds ("" when the source has no right answer)."""

    prompt: Prompt
    question: str
    expected: str = ""
    what: str = ""        # what the expected answer is, in words ("true label", "the hidden code")


@dataclass
class KvRun:
    """One prompt answered twice from one prefill: with the full cache and with the press."""

    full: GenerationTrace
    pressed: GenerationTrace
    press: Press
    rolling: bool         # the press also evicted while decoding


# --- prompts --------------------------------------------------------------------------------------------------

def paste_prompt(lm: LanguageModel, context: str, question: str) -> LabelledPrompt:
    """A typed context and question; ValueError (fit to show) when either is empty or the prompt is too long."""
    if not isinstance(context, str) or not context.strip():
        raise ValueError("context must hold some text: paste a passage for the model to read.")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must hold some text: ask something about the context.")
    return LabelledPrompt(lm.prompt(context.strip(), question.strip()), question.strip())


def review_prompt(lm: LanguageModel, reviews: TextDataset, index: int) -> LabelledPrompt:
    """IMDb test review `index` as the zero-shot sentiment prompt, with its true label."""
    check_index("review", index, len(reviews))
    label = reviews.label_names[reviews.labels[index]]
    return LabelledPrompt(tasks.sentiment_prompt(lm, reviews.texts[index]), tasks.SENTIMENT_QUESTION, label,
                          "true label")


def needle_prompt(lm: LanguageModel, articles: TextDataset, depth: float, haystack_tokens: int) -> LabelledPrompt:
    """A secret code hidden at `depth` of about `haystack_tokens` tokens of AG News test articles."""
    check_haystack(haystack_tokens)
    needle = tasks.needle_prompt(lm, articles.texts, depth, haystack_tokens=haystack_tokens)
    return LabelledPrompt(needle.prompt, tasks.NEEDLE_QUESTION, needle.code, "hidden code")


def split_version(name: str) -> tuple[str, float]:
    """The local test file of dataset `name` and its modification time (0 when missing), to cache it per version."""
    path = hub.local_file(name, "test")
    return ("", 0.0) if path is None else (str(path), path.stat().st_mtime if path.is_file() else 0.0)


def check_index(name: str, index: int, count: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise ValueError(f"{name} must be a whole number in [0, {count - 1}], got {index!r}.")
    return index


def check_haystack(tokens: object) -> int:
    """A haystack size the page offers (the URL's `haystack`)."""
    if tokens not in HAYSTACK_SIZES or isinstance(tokens, bool):
        raise ValueError(f"haystack must be one of {', '.join(map(str, HAYSTACK_SIZES))}, got {tokens!r}.")
    return int(tokens)


def check_budget(budget: object) -> float:
    """A share of the context the page offers (the URL's `budget`)."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) \
            or not BUDGET_LOW <= budget <= BUDGET_HIGH:
        raise ValueError(f"budget must be a share in [{BUDGET_LOW:g}, {BUDGET_HIGH:g}], got {budget!r}.")
    return float(budget)


# --- the run --------------------------------------------------------------------------------------------------

def run_pair(lm: LanguageModel, prompt: Prompt, press: Press, budget: float, max_new_tokens: int = DEFAULT_NEW_TOKENS,
             rolling: bool = False) -> KvRun:
    """The answer with the full cache and with `press` at `budget`, both from one prefill (the same attention, the
    same keys), so the difference is the press's alone."""
    state = prefill(lm, prompt)
    full = generate(lm, prompt, build_press("full"), 1.0, max_new_tokens, state=state)
    rolls = rolling and press.rolls
    pressed = generate(lm, prompt, press, check_budget(budget), max_new_tokens, rolling=rolls, state=state)
    return KvRun(full, pressed, press, rolls)


def same_first_token(run: KvRun) -> bool:
    """Whether the pressed cache's first answer token is the full cache's."""
    return run.full.answer_ids[:1] == run.pressed.answer_ids[:1]


def holds(answer: str, expected: str) -> bool:
    """Whether an answer holds the expected word or code (case aside)."""
    return bool(expected) and expected.lower() in answer.lower()


def top_choices(trace: GenerationTrace) -> list[dict]:
    """The first answer token's five likeliest tokens, as table rows."""
    return [{"token": repr(token), "probability": probability} for token, probability in trace.first_token]


# --- what the views colour ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """One context token as the page shows it: the text before it (spaces, line breaks) and its own characters."""

    gap: str
    text: str
    special: bool     # outside the typed context (the chat template's start): shown as the token itself


def readable_token(token: str) -> str:
    """A tokenizer's token with its space and line-break markers (byte-level BPE's Ġ and Ċ, SentencePiece's ▁)
    made visible."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "↵")


def context_pieces(trace: GenerationTrace) -> list[Piece]:
    """Per context token, the characters of the context behind it (each character once, in order), or the token
    itself for the template's tokens."""
    pieces, shown_to = [], 0
    text = trace.context_text
    for position in range(trace.context_length):
        start, end = trace.offsets[position] if position < len(trace.offsets) else (0, 0)
        if end <= start or not text:
            pieces.append(Piece("", readable_token(trace.tokens[position]), True))
            continue
        start = max(start, shown_to)          # byte pieces of one character share its span: show it once
        pieces.append(Piece(text[shown_to:start], text[start:end], False))
        shown_to = max(shown_to, end)
    return pieces


def in_cache(trace: GenerationTrace, step: int = 0) -> np.ndarray:
    """(L, Hk, C) bool: the cache when answer token `step` was written (0: right after the press)."""
    last = max(len(trace.answer_ids) - 1, 0)
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= last:
        raise ValueError(f"step must be a whole number in [0, {last}], got {step!r}.")
    return trace.in_cache(step)


def layer_shares(trace: GenerationTrace, step: int = 0) -> np.ndarray:
    """(L, C) the share of each layer's key-value heads holding each context token."""
    return in_cache(trace, step).mean(axis=1)


def colouring(trace: GenerationTrace, layer: int | None = None, step: int = 0) -> tuple[np.ndarray, list[str]]:
    """(C,) a colour strength in [0, 1] per context token and its hover note: with no layer, the share of layers
    that kept it (in any key-value head); at one layer, the share of that layer's key-value heads."""
    cache = in_cache(trace, step)                                 # (L, Hk, C)
    layers, heads = cache.shape[:2]
    if layer is None:
        counts = cache.any(axis=1).sum(axis=0)                    # (C,)
        return counts / max(layers, 1), [f"kept by {count} of {layers} layers" for count in counts]
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < layers:
        raise ValueError(f"layer must be a whole number in [0, {layers - 1}], got {layer!r}.")
    counts = cache[layer].sum(axis=0)
    return counts / max(heads, 1), [f"layer {layer + 1}: kept by {count} of {heads} key-value heads"
                                    for count in counts]


# --- exports --------------------------------------------------------------------------------------------------

def trace_csv(trace: GenerationTrace) -> bytes:
    """One row per context token: position, token, its characters, kept share, layers kept, and per layer the share
    of key-value heads that kept it (right after the press)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    per_layer = layer_shares(trace)                               # (L, C)
    writer.writerow(["position", "token", "text", "kept_share", "layers_kept",
                     *[f"layer_{layer + 1}" for layer in range(trace.num_layers)]])
    shares, layers = trace.kept_share, trace.layers_kept
    for position, piece in enumerate(context_pieces(trace)):
        writer.writerow([position, _cell(trace.tokens[position]), "" if piece.special else _cell(piece.text),
                         f"{shares[position]:.4g}", int(layers[position]),
                         *[f"{value:.4g}" for value in per_layer[:, position]]])
    return buffer.getvalue().encode("utf-8")


def answers_json(run: KvRun, labelled: LabelledPrompt) -> bytes:
    """Both answers with what they cost, the press and its settings, and the prompt."""
    def one(trace: GenerationTrace) -> dict:
        return {"press": trace.press, "config": trace.press_config, "budget": trace.budget, "answer": trace.answer,
                "cache_bytes": trace.cache_bytes, "cache_share": trace.cache_share,
                "decode_ms_per_token": trace.decode_ms_per_token, "kept_per_layer": trace.kept_per_layer,
                "first_token_top5": [{"token": token, "probability": p} for token, p in trace.first_token]}
    record = {"context": run.full.context_text, "question": labelled.question,
              "expected": labelled.expected or None, "rolling": run.rolling,
              "full": one(run.full), "pressed": one(run.pressed)}
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
