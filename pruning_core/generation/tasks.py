"""The KV lens's two tasks, as prompts: zero-shot sentiment of an IMDb review, and a needle (a secret code hidden at a
chosen depth of a long haystack of AG News articles). Shared by the pipeline, the benchmark and the dashboard."""
from __future__ import annotations

import random
from dataclasses import dataclass

from torch import Tensor

from ..methods.base import finite_number
from .model import LanguageModel, Prompt

# Worded so that SmolLM2-135M's first answer token is not biased to one label: asked "Is this movie review positive or
# negative? Answer with one word." and answering after "The review is", it called 97% of 40 test reviews positive
# (0.60 right; 0.53 on the cpu sweep's 200); with this question and prefix, 0.925 on the same 40.
SENTIMENT_QUESTION = "What is the sentiment of this review, positive or negative?"
SENTIMENT_PREFIX = "Sentiment:"
SENTIMENT_WORDS = (" negative", " positive")     # IMDb's labels 0 and 1, as the answer's first word
REVIEW_TOKENS = 400                             # reviews are cut to this many tokens (the whole prompt stays short)

NEEDLE = "The secret code is {code}."
NEEDLE_QUESTION = "What is the secret code mentioned in the text? Answer with the number only."
NEEDLE_PREFIX = "The secret code is"
NEEDLE_TOKENS = 2000                            # the haystack's length in tokens


@dataclass
class NeedlePrompt:
    prompt: Prompt
    code: str
    answer_ids: list[int]    # the code's tokens as the answer writes them after NEEDLE_PREFIX
    depth: float             # where the needle sits, as a share of the haystack
    needle_start: int        # the needle sentence's first context token


def cut_to_tokens(lm: LanguageModel, text: str, max_tokens: int) -> str:
    """text cut at a token boundary to at most max_tokens of the model's tokens."""
    encoded = lm.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    if len(encoded["input_ids"]) <= max_tokens:
        return text
    return text[:encoded["offset_mapping"][max_tokens - 1][1]]


def sentiment_prompt(lm: LanguageModel, review: str, max_tokens: int = REVIEW_TOKENS) -> Prompt:
    return lm.prompt(cut_to_tokens(lm, review, max_tokens), SENTIMENT_QUESTION, SENTIMENT_PREFIX)


def sentiment_ids(lm: LanguageModel) -> list[int]:
    """The first token of each label word (negative, positive)."""
    return [lm.tokenizer(word, add_special_tokens=False)["input_ids"][0] for word in SENTIMENT_WORDS]


def sentiment_prediction(lm: LanguageModel, first_log_probs: Tensor) -> int:
    """0 (negative) or 1 (positive): the label word whose first token the answer's first position prefers."""
    ids = sentiment_ids(lm)
    return int(first_log_probs[ids].argmax())


def needle_prompt(lm: LanguageModel, articles: list[str], depth: float, seed: int = 0,
                  haystack_tokens: int = NEEDLE_TOKENS) -> NeedlePrompt:
    """A haystack of `articles` (in order, cycled) of about `haystack_tokens` tokens with the sentence
    "The secret code is NNNNN." inserted between two articles at `depth` (0: first, 1: last)."""
    depth = finite_number("depth", depth, 0.0, 1.0)
    if not articles:
        raise ValueError("articles must hold at least one text, got none.")
    if isinstance(haystack_tokens, bool) or not isinstance(haystack_tokens, int) or haystack_tokens < 1:
        raise ValueError(f"haystack_tokens must be a whole number ≥ 1, got {haystack_tokens!r}.")
    code = f"{random.Random(seed).randrange(10_000, 100_000)}"
    pieces, total, index = [], 0, 0
    while total < haystack_tokens:
        article = articles[index % len(articles)].strip()
        pieces.append(article)
        total += len(lm.tokenizer(article, add_special_tokens=False)["input_ids"]) + 1
        index += 1
    slot = round(depth * len(pieces))
    needle = NEEDLE.format(code=code)
    before = "\n".join(pieces[:slot])
    context = "\n".join(part for part in (before, needle, "\n".join(pieces[slot:])) if part)
    prompt = lm.prompt(context, NEEDLE_QUESTION, NEEDLE_PREFIX)
    needle_char = context.index(needle, len(before))
    needle_start = next(i for i, (start, end) in enumerate(prompt.offsets) if end > needle_char)
    answer_ids = lm.tokenizer(" " + code, add_special_tokens=False)["input_ids"]
    return NeedlePrompt(prompt, code, answer_ids, depth, needle_start)
