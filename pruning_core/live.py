"""Classify one typed text under a chosen pruning method, timed: what the Live text page shows.

The chosen method never touches the loaded classifier: each request wraps the same weights and
tokenizer in a new `PrunedTextClassifier` (cheap), so visitors sharing a cached model cannot change
each other's method mid-run.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from .methods import LearnedTokenPruning, NoPruning, PruningMethod, TaskSpecificDynamicPruning, TopK
from .text import DEFAULT_MAX_LENGTH, PrunedTextClassifier
from .trace import ExampleTrace

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
    "ltp": "LTP (thresholds)",
    "topk": "Top-k (keep ratio)",
    "ts_dtp": "TS-DTP (offset shift)",
    "none": "None (keep every token)",
}

# Torch threads for live requests. One thread runs a 256-token review in about 60 ms; two are a
# little faster on an idle machine but many times slower when the cores are busy (the demo builder
# training in the background, several visitors at once): see benchmarks/live_latency.py.
LIVE_THREADS = 1

EMPTY_HINT = "Type or paste a text above, or pick an example, to watch its tokens drop out layer by layer."
NOTHING_READABLE_HINT = ("The model finds no words in this text (only spaces, control or zero-width characters): "
                         "type some words to classify.")


@dataclass(frozen=True)
class MethodChoice:
    """What the method controls say; turned into a PruningMethod by `build_live_method`."""

    kind: str = "own"              # one of METHOD_KINDS
    threshold_scale: float = 1.0   # ltp with learned thresholds: multiply them
    threshold: float = 0.01        # ltp without learned thresholds: one threshold for every layer
    schedule: str = "ratio"        # topk: "ratio" (keep_ratio reaches the last layer) or "cascade"
    keep_ratio: float = 0.5        # topk "ratio": fraction of the input left after the last layer
    r_max: float = 0.6             # topk "cascade": keep(l) = 1 - r_max * ((l + 1) / L) ** alpha
    alpha: float = 2.0
    score: str = "cls"             # topk: rank by CLS attention ("cls") or attention received
    offset_shift: float = 0.0      # ts_dtp: added to every learned offset (in standard deviations)


@dataclass
class LiveResult:
    trace: ExampleTrace | None     # None when there was nothing to classify
    model_ms: float = 0.0          # tokenize + layer loop + trace, measured
    notices: tuple[str, ...] = ()  # e.g. the text was cut
    hint: str | None = None        # shown instead of a result (empty text)


def default_kind(own: PruningMethod) -> str:
    """Start on the model's own method, or on top-k when the model has none, so pruning shows at once."""
    return "topk" if isinstance(own, NoPruning) else "own"


def available_kinds(own: PruningMethod) -> list[str]:
    """The method kinds a model offers: TS-DTP only for a model trained with it (its scorer is learned)."""
    return [kind for kind in METHOD_KINDS if kind != "ts_dtp" or isinstance(own, TaskSpecificDynamicPruning)]


def use_live_threads() -> None:
    """Set torch's (process-wide) thread count for live requests."""
    torch.set_num_threads(LIVE_THREADS)


def warm_up(classifier: PrunedTextClassifier) -> None:
    """One throwaway run, so the first timed request does not pay for one-off initialisation."""
    classifier.trace([EXAMPLES["Restaurant (study)"]])


def learned_thresholds(method: PruningMethod) -> list[float] | None:
    """The per-layer thresholds of an LTP method, else None."""
    if isinstance(method, LearnedTokenPruning):
        return [float(value) for value in method.thresholds.detach()]
    return None


def describe_method(method: PruningMethod) -> str:
    """One line on what a method does, for the model's own method."""
    if isinstance(method, LearnedTokenPruning):
        values = ", ".join(f"{value:.3g}" for value in learned_thresholds(method))
        return (f"LTP ({method.mode} mode): a token is removed once the attention it receives, as a share of "
                f"the text's attention (about 1/n for an average token), falls below the layer's threshold; "
                f"learned thresholds per layer: {values}.")
    if isinstance(method, TopK):
        if method.keep_ratios is not None:
            ratios = ", ".join(f"{ratio:.2f}" for ratio in method.keep_ratios)
            return f"Top-k by {method.score} score, keep ratios per layer: {ratios}."
        return f"Top-k by {method.score} score, cascading schedule r_max={method.r_max}, α={method.alpha:g}."
    if isinstance(method, TaskSpecificDynamicPruning):
        config = method.config()
        offsets = ", ".join(f"{value:.2f}" for value in config["offsets"])
        mix = ", ".join(f"{value:.2f}" for value in config["mix"])
        return (f"TS-DTP ({method.mode} mode): a learned task scorer blended with attention received "
                f"(scorer weight per layer: {mix}); a token survives while its score is at least "
                f"mean + δ·std of this text's scores, with learned offsets δ per layer: {offsets}.")
    if isinstance(method, NoPruning):
        return "No pruning: every token reaches the classifier."
    return f"{method.name}: {method.config()}"


def threshold_note(method: PruningMethod) -> str | None:
    """How to read the thresholds shown for a method, where it is not obvious."""
    if isinstance(method, TaskSpecificDynamicPruning):
        return ("TS-DTP's thresholds belong to this text: at each layer, the mean of its tokens' scores plus δ "
                "standard deviations, so the same model cuts at a different score for every text.")
    return None


def geometric_keep_ratios(final_ratio: float, num_layers: int) -> list[float]:
    """Per-layer keep ratios (of the input) that shrink evenly to final_ratio at the last layer."""
    return [final_ratio ** ((layer + 1) / num_layers) for layer in range(num_layers)]


def build_live_method(choice: MethodChoice, own: PruningMethod, num_layers: int) -> PruningMethod:
    """The method the controls describe; `own` is the one saved with the model."""
    if choice.kind == "own":
        return own
    if choice.kind == "none":
        return NoPruning()
    if choice.kind == "ltp":
        learned = learned_thresholds(own)
        thresholds = ([value * choice.threshold_scale for value in learned] if learned is not None
                      else [choice.threshold] * num_layers)
        return LearnedTokenPruning(num_layers, thresholds=thresholds, mode="hard")
    if choice.kind == "topk":
        if choice.schedule == "cascade":
            return TopK(r_max=choice.r_max, alpha=choice.alpha, score=choice.score)
        return TopK(keep_ratios=geometric_keep_ratios(choice.keep_ratio, num_layers), score=choice.score)
    if choice.kind == "ts_dtp" and isinstance(own, TaskSpecificDynamicPruning):
        return shifted_offsets(own, choice.offset_shift)
    raise ValueError(f"Unknown method kind {choice.kind!r}; choose one of {', '.join(METHOD_KINDS)}.")


def shifted_offsets(method: TaskSpecificDynamicPruning, shift: float) -> TaskSpecificDynamicPruning:
    """A hard-mode copy of a TS-DTP method with every learned offset moved by shift (more: fewer tokens)."""
    shifted = copy.deepcopy(method)
    shifted.mode = "hard"
    with torch.no_grad():
        shifted.offsets += shift
    return shifted


def dynamic_thresholds(trace: ExampleTrace, offsets: list[float]) -> list[float | None]:
    """TS-DTP's per-text threshold at each layer, in score units: mean + δ·std of the scores of the
    tokens alive at that layer, CLS left out (as the method computes it)."""
    thresholds: list[float | None] = []
    for layer, offset in enumerate(offsets[:trace.num_layers]):
        scores = trace.scores[layer, 1:]
        scores = scores[~np.isnan(scores)].astype(np.float64)
        thresholds.append(float(scores.mean() + offset * (scores.std() + 1e-6)) if scores.size else None)
    return thresholds


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
    if isinstance(method, TaskSpecificDynamicPruning) and not method.is_soft:
        trace = replace(trace, thresholds=dynamic_thresholds(trace, method.config()["offsets"]))
    notices = ()
    if trace.truncated or length > MAX_INPUT_CHARS:
        read = max(end for _, end in trace.offsets)
        notices = (f"Your text has {length:,} characters. The model reads at most "
                   f"{min(max_length, classifier.max_length)} tokens, "
                   f"so only the first {read:,} characters were classified and are shown below.",)
    return LiveResult(trace, model_ms, notices)
