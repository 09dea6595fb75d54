"""Classify one typed text under a chosen pruning method (drawn and built by dashboard.controls), timed: what the
Live text page shows.

The chosen method never touches the loaded classifier: each request wraps the same weights and
tokenizer in a new `PrunedTextClassifier` (cheap), so visitors sharing a cached model cannot change
each other's method mid-run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from pruning_core.methods import PruningMethod
from pruning_core.text import DEFAULT_MAX_LENGTH, PrunedTextClassifier
from pruning_core.text import examples as text_examples
from pruning_core.trace import ExampleTrace

# Texts are cut here before tokenizing: far more than max_length tokens ever cover, and it keeps a
# pasted novel from costing the tokenizer time for text the model would never read.
MAX_INPUT_CHARS = 20_000

# The example buttons (Live text, Classroom, Compare): the library's, each with its dataset and right label.
EXAMPLES = text_examples.EXAMPLES

# Torch threads for live requests. One thread runs a 256-token review in about 60 ms; two are a
# little faster on an idle machine but many times slower when the cores are busy (the demo builder
# training in the background, several visitors at once): see benchmarks/live_latency.py.
LIVE_THREADS = 1

# What "tokens read" counts, wherever a page shows it (Live text, Image, Compare).
READ_HELP = ("At the input → read by the classifier: the tokens alive on entry to the last layer, CLS included. The "
             "head reads CLS after the last layer, and CLS's last attention reads exactly these, so the last layer's "
             "own pruning cannot change the answer.")

EMPTY_HINT = "Type or paste a text above, or pick an example, to watch its tokens drop out layer by layer."
NOTHING_READABLE_HINT = ("The model finds no words in this text (only spaces, control or zero-width characters): "
                         "type some words to classify.")


@dataclass
class LiveResult:
    trace: ExampleTrace | None     # None when there was nothing to classify
    model_ms: float = 0.0          # tokenize + layer loop + trace, measured
    notices: tuple[str, ...] = ()  # e.g. the text was cut
    hint: str | None = None        # shown instead of a result (empty text)


def use_live_threads() -> None:
    """Set torch's (process-wide) thread count for live requests."""
    torch.set_num_threads(LIVE_THREADS)


def warm_up(classifier: PrunedTextClassifier) -> None:
    """One throwaway run, so the first timed request does not pay for one-off initialisation."""
    classifier.trace([EXAMPLES[0].text])


def classify_live(classifier: PrunedTextClassifier, method: PruningMethod, text: str,
                  max_length: int = DEFAULT_MAX_LENGTH) -> LiveResult:
    """Trace one text under method; empty text gets a hint, overlong text a notice."""
    if not isinstance(text, str) or not text.strip():
        return LiveResult(None, hint=EMPTY_HINT)
    length = len(text)
    view = PrunedTextClassifier(classifier.model, classifier.tokenizer, method)
    start = time.perf_counter()
    trace = view.trace([text[:MAX_INPUT_CHARS]], max_length=max_length)[0]
    model_ms = 1000 * (time.perf_counter() - start)
    if all(word is None for word in trace.word_ids):       # nothing but special tokens
        return LiveResult(None, hint=NOTHING_READABLE_HINT)
    return LiveResult(trace, model_ms, cut_notices(trace, length, min(max_length, classifier.max_length)))


def cut_notices(trace: ExampleTrace, length: int, token_limit: int) -> tuple[str, ...]:
    """What was left unread of a text of `length` characters: tokens the tokenizer dropped at the model's length
    limit (its own overflow, `trace.truncated`), else characters past this app's MAX_INPUT_CHARS; nothing when the
    whole text was read (characters after the last token that make no token, such as zero-width ones, are read)."""
    if trace.truncated:
        read = max(end for _, end in trace.offsets)
        return (f"Your text has {length:,} characters. The model reads at most {token_limit} tokens, so only the "
                f"first {read:,} characters were classified and are shown below.",)
    if length > MAX_INPUT_CHARS:
        return (f"Your text has {length:,} characters. This app reads at most the first {MAX_INPUT_CHARS:,} "
                f"characters of a text, so the last {length - MAX_INPUT_CHARS:,} were not classified.",)
    return ()
