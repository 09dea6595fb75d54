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
from pruning_core.trace import ExampleTrace

# Texts are cut here before tokenizing: far more than max_length tokens ever cover, and it keeps a
# pasted novel from costing the tokenizer time for text the model would never read.
MAX_INPUT_CHARS = 20_000

EXAMPLES = {
    "Restaurant (study)": "This is the best restaurant, and I will be returning for another meal.",
    "Glowing review": "A wonderful film with a brilliant cast, a moving story and music I still hum days later.",
    "Harsh review": "The plot made no sense, the acting was wooden, and I walked out before the boring ending.",
    "Mixed feelings": "The first hour is gripping, but the ending is rushed and the jokes fall flat.",
    "World news": "Troops began leaving the city on Tuesday as the president met ministers to discuss the ceasefire.",
    "Tech news": "Google released a new version of its Linux-based operating system for phones and laptops.",
}

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
    classifier.trace([EXAMPLES["Restaurant (study)"]])


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
    notices = ()
    if trace.truncated or length > MAX_INPUT_CHARS:
        read = max(end for _, end in trace.offsets)
        notices = (f"Your text has {length:,} characters. The model reads at most "
                   f"{min(max_length, classifier.max_length)} tokens, "
                   f"so only the first {read:,} characters were classified and are shown below.",)
    return LiveResult(trace, model_ms, notices)
