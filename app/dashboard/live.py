"""Classify one typed text under a chosen pruning method, timed: what the Live text page shows.

The chosen method never touches the loaded classifier: each request wraps the same weights and
tokenizer in a new `PrunedTextClassifier` (cheap), so visitors sharing a cached model cannot change
each other's method mid-run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from pruning_core.methods import LearnedTokenPruning, NoPruning, PruningMethod, TopK
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

METHOD_KINDS = {
    "own": "The model's own",
    "ltp": "LTP (one threshold)",
    "topk": "Top-k (keep ratio)",
    "none": "None (keep every token)",
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


@dataclass(frozen=True)
class MethodChoice:
    """What the method controls say; turned into a PruningMethod by `build_live_method`."""

    kind: str = "own"                 # one of METHOD_KINDS
    adjustment: float | None = None   # own: the value of its adjustment (None: as trained)
    threshold: float = 0.5            # ltp: one threshold for every layer (relative attention: average 1)
    schedule: str = "ratio"           # topk: "ratio" (keep_ratio reaches the last layer) or "cascade"
    keep_ratio: float = 0.5           # topk "ratio": fraction of the input left after the last layer
    r_max: float = 0.6                # topk "cascade": keep(l) = 1 - r_max * ((l + 1) / L) ** alpha
    alpha: float = 2.0
    score: str = "cls"                # topk: rank by CLS attention ("cls") or attention received


@dataclass
class LiveResult:
    trace: ExampleTrace | None     # None when there was nothing to classify
    model_ms: float = 0.0          # tokenize + layer loop + trace, measured
    notices: tuple[str, ...] = ()  # e.g. the text was cut
    hint: str | None = None        # shown instead of a result (empty text)


def default_kind(own: PruningMethod) -> str:
    """Start on the model's own method, or on top-k when the model keeps every token, so pruning shows at once."""
    return "own" if own.removes_tokens else "topk"


def available_kinds(own: PruningMethod) -> list[str]:
    """The method kinds a model offers: its own only when it prunes."""
    return [kind for kind in METHOD_KINDS if kind != "own" or own.removes_tokens]


def use_live_threads() -> None:
    """Set torch's (process-wide) thread count for live requests."""
    torch.set_num_threads(LIVE_THREADS)


def warm_up(classifier: PrunedTextClassifier) -> None:
    """One throwaway run, so the first timed request does not pay for one-off initialisation."""
    classifier.trace([EXAMPLES["Restaurant (study)"]])


def build_live_method(choice: MethodChoice, own: PruningMethod, num_layers: int) -> PruningMethod:
    """The method the controls describe; `own` is the one saved with the model."""
    if choice.kind == "own":
        adjustment = own.adjustment()
        return own if adjustment is None or choice.adjustment is None else adjustment.apply(choice.adjustment)
    if choice.kind == "none":
        return NoPruning()
    if choice.kind == "ltp":
        return LearnedTokenPruning(num_layers, thresholds=[choice.threshold] * num_layers, mode="hard")
    if choice.kind == "topk":
        if choice.schedule == "cascade":
            return TopK(r_max=choice.r_max, alpha=choice.alpha, score=choice.score)
        return TopK.geometric(choice.keep_ratio, num_layers, score=choice.score)
    raise ValueError(f"Unknown method kind {choice.kind!r}; choose one of {', '.join(METHOD_KINDS)}.")


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
