"""The KV-cache benchmark: every press at every budget against the full cache, on IMDb sentiment, a needle in an AG News
haystack at each depth, and decode speed.

    python -m pipelines.kv --profile quick          # minutes: 24 reviews, 2 haystacks × 5 depths, 2k timing
    python -m pipelines.kv --profile cpu            # the docs' block: 200 reviews, 10 haystacks × 11 depths, 2k and 4k
    lens kv --presses snapkv,h2o --budgets 0.1,0.25 --imdb 50

1. IMDb zero-shot sentiment: a seeded, class-balanced sample of test reviews (example id: the row in the split's
   file), `tasks.sentiment_prompt`; each review is read once (`prefill`), then the full cache and every press ×
   budget answer from it: the label word the first answer position prefers, whether that first token's argmax over
   the vocabulary agrees with the full cache's, and KL(full || pressed) of its distribution. For the first
   `token_sample` reviews, which context tokens each press keeps at 25% (the share of (layer, key-value head) caches
   holding each, the layers keeping it), and that share by part of speech, stopword and frequency band (the text
   lens's spaCy facets, tokens mapped to words by the prompt's offsets; the chat template's tokens left out).
2. Needle: per haystack different AG News test articles (a seeded shuffle dealt round-robin), the sentence "The
   secret code is NNNNN." at each depth (0 … 1, evenly spaced; a seed per prompt); exact match = every teacher-forced
   answer position's argmax is the code's next token (what greedy decoding writes), agreement and KL as above.
3. Timing: needle prompts of each --timing-contexts size; the full cache and every press × budget decode
   `decode_tokens` tokens greedily (end of sequence does not stop them), interleaved in each repeat (the order
   rotating), median ms per token; the cache's MB at the end. Attention is not recorded while timed.
Each part is stored when it finishes (kv_sweeps' config says which did), so an interrupted run keeps the finished
parts. `python -m pipelines.results --write` renders the stored sweep into docs/results.md (pipelines/kv_results.py).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from pruning_core.analysis.kv import FULL, first_token_comparison, retention_rows, token_categories
from pruning_core.analysis.linguistics import Annotator, spacy_annotator
from pruning_core.generation import (PRESSES, GenerationTrace, LanguageModel, Press, answer, answer_logits,
                                     build_press, load_language_model, prefill, press_cache, press_from_label)
from pruning_core.generation.tasks import NEEDLE_TOKENS, needle_prompt, sentiment_prediction, sentiment_prompt
from pruning_core.paths import db_path
from pruning_core.generation.trace import MEGABYTE
from pruning_core.runtime import cpu_name
from pruning_core.storage import kv as kv_store
from pruning_core.text.data import load_dataset

from .analyze import frequency_bands
from .common import add_common, clear_errors
from .timing import machine_cores, settle

TASKS = ("imdb", "needle", "timing")


class KVOptionError(ValueError):
    """A bad option: the message names it and its value (the command line shows it as a usage error)."""


@dataclass(frozen=True)
class KVOptions:
    """What one sweep measures; `kv_options` builds and checks it."""

    profile: str
    imdb: int                          # test reviews (0: skip the task)
    needles: int                       # haystacks (0: skip the task)
    depths: int                        # needle depths per haystack, evenly spaced from 0 to 1
    budgets: tuple[float, ...]         # shares of the context kept
    presses: tuple[str, ...]           # compared with the full cache
    timing_contexts: tuple[int, ...]   # haystack tokens of the timed prompts (none: skip timing)
    haystack_tokens: int = NEEDLE_TOKENS
    repeats: int = 3
    decode_tokens: int = 32
    token_sample: int = 20             # reviews whose kept tokens are stored
    token_budget: float = 0.25
    seed: int = 0
    threads: int = 0                   # torch threads while timed (0: the machine's physical cores)
    quiet_wait: float = 300.0          # seconds to wait for a quiet machine before timing


PROFILES = {
    "quick": dict(imdb=24, needles=2, depths=5, haystack_tokens=1000, timing_contexts=(2048,), repeats=2,
                  token_sample=8, quiet_wait=60.0),
    "cpu": dict(imdb=200, needles=10, depths=11, haystack_tokens=NEEDLE_TOKENS, timing_contexts=(2048, 4096),
                repeats=3, token_sample=20),
}
DEFAULT_BUDGETS = (0.1, 0.25, 0.5, 0.75)


# SnapKV with votes averaged over 15 neighbours beside the paper's 5: chosen on validation needles (AG News *train*
# articles, 10 depths): at 25% of the cache 10 of 10 found against 2 of 10 with 5, at 10% 9 against 0 (a pooling width
# of 5 keeps "secret code" but not the digits after it); on 60 IMDb train reviews it scored 46 against 51 at 25%.
WIDE_SNAPKV = "snapkv:kernel=15"


def default_presses() -> tuple[str, ...]:
    """Press labels compared with the full cache: every press at its defaults, and WIDE_SNAPKV."""
    return (*(name for name in PRESSES if name != FULL), WIDE_SNAPKV)


def kv_options(profile: str = "quick", **overrides) -> KVOptions:
    """The profile's options with `overrides` (None: the profile's), checked: ValueError naming a bad one."""
    if profile not in PROFILES:
        raise KVOptionError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}.")
    known = {field.name for field in fields(KVOptions)} - {"profile"}
    unknown = set(overrides) - known
    if unknown:
        raise KVOptionError(f"unknown options {sorted(unknown)}; the options are {', '.join(sorted(known))}.")
    values = {"budgets": DEFAULT_BUDGETS, "presses": default_presses(), **PROFILES[profile],
              **{name: value for name, value in overrides.items() if value is not None}}
    options = KVOptions(profile=profile, **values)
    _check(options)
    return options


def _check(options: KVOptions) -> None:
    def whole(name: str, low: int) -> None:
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise KVOptionError(f"{name.replace('_', '-')} must be a whole number ≥ {low}, got {value!r}.")

    for name in ("imdb", "needles", "token_sample", "seed", "threads"):
        whole(name, 0)
    for name in ("depths", "repeats", "decode_tokens"):
        whole(name, 1)
    whole("haystack_tokens", 16)
    budgets = options.budgets
    if not budgets or any(isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 < b < 1 for b in budgets) \
            or len(set(budgets)) != len(budgets):
        raise KVOptionError(f"budgets must be distinct shares strictly between 0 and 1, got {list(budgets)!r}.")
    errors = [error for label in options.presses if (error := label_error(label))]
    if not options.presses or errors or len(set(options.presses)) != len(options.presses):
        detail = f" ({errors[0]})" if errors else ""
        raise KVOptionError(f"presses must be distinct press labels, names among "
                            f"{', '.join(name for name in PRESSES if name != FULL)} with any settings after colons "
                            f"(snapkv:kernel=15; the full cache is the reference), got {list(options.presses)!r}"
                            f"{detail}.")
    if any(isinstance(c, bool) or not isinstance(c, int) or c < 16 for c in options.timing_contexts):
        raise KVOptionError(f"timing-contexts must be token counts ≥ 16, got {list(options.timing_contexts)!r}.")
    if not 0 < options.token_budget < 1:
        raise KVOptionError(f"token-budget must be a share strictly between 0 and 1, got {options.token_budget!r}.")
    if options.quiet_wait < 0:
        raise KVOptionError(f"quiet-wait must be ≥ 0 seconds, got {options.quiet_wait!r}.")


def label_error(label: str) -> str | None:
    """Why a press label cannot be swept (None when it can)."""
    try:
        press = press_from_label(label)
    except ValueError as error:
        return str(error)
    return "the full cache is the reference" if press.name == FULL else None


def depth_grid(count: int) -> list[float]:
    """`count` needle depths evenly spaced from 0 (the haystack's start) to 1 (its end); one: the middle."""
    return [0.5] if count == 1 else [round(i / (count - 1), 6) for i in range(count)]


@dataclass
class Outcomes:
    """One press × budget's per-example outcomes on a task, in the task's example order."""

    press: Press
    budget: float
    correct: list[bool]
    agrees: list[bool]
    kl: list[float]

    def add(self, correct: bool, agrees: bool, kl: float) -> None:
        self.correct.append(bool(correct))
        self.agrees.append(bool(agrees))
        self.kl.append(float(kl))

    def row(self, task: str, example_ids: list[int], depths: list[float] | None = None) -> dict:
        n = len(self.correct)
        return {"task": task, "press": self.press.label, "press_config": json.dumps(self.press.config()),
                "budget": float(self.budget), "n": n, "accuracy": float(np.mean(self.correct)) if n else None,
                "agreement": float(np.mean(self.agrees)) if n else None,
                "kl_mean": float(np.mean(self.kl)) if n else None, "example_ids": list(example_ids),
                "correct": self.correct, "agrees": self.agrees, "kl": self.kl, "depths": depths}


def settings(options: KVOptions) -> list[Outcomes]:
    """The full cache, then every press at every budget, each with no outcomes yet."""
    full = [Outcomes(build_press(FULL), 1.0, [], [], [])]
    return full + [Outcomes(press_from_label(label), budget, [], [], []) for label in options.presses
                   for budget in options.budgets]


def survival(prompt, pressed, press: Press, budget: float) -> GenerationTrace:
    """The trace of a pressed cache as the first answer token sees it (present: 1 where a (layer, key-value head)
    cache holds the context token), for its kept_share and layers_kept."""
    kept = torch.zeros(pressed.scores[0].shape[1:], dtype=torch.long).expand(len(pressed.scores), -1, -1).clone()
    for layer, positions in enumerate(pressed.positions):          # (1, Hk, k) -> (Hk, C) ones where kept
        kept[layer].scatter_(-1, positions[0], 1)
    return GenerationTrace(tokens=prompt.tokens, context_length=prompt.context_length, present=kept.numpy(),
                           scores=torch.stack([s[0] for s in pressed.scores]).float().numpy(), answer_ids=[],
                           answer="", press=press.describe(), press_config=press.config(), budget=budget,
                           context_text=prompt.context_text, offsets=prompt.offsets)


def token_rows(example_id: int, trace: GenerationTrace, label: str) -> pd.DataFrame:
    """kv_tokens rows of one prompt under one press (its label): every context token with its span and kept share."""
    context = trace.context_length
    spans = np.asarray(trace.offsets, dtype=np.int64).reshape(-1, 2)[:context]
    return pd.DataFrame({"example_id": example_id, "press": label, "budget": float(trace.budget),
                         "position": np.arange(context), "token": trace.tokens[:context], "char_start": spans[:, 0],
                         "char_end": spans[:, 1], "kept_share": trace.kept_share.astype(float),
                         "layers_kept": trace.layers_kept.astype(int)})


def imdb_task(lm: LanguageModel, options: KVOptions, reviews, annotate: Annotator, bands_of: Callable,
              progress: bool = True) -> dict[str, pd.DataFrame]:
    """kv_results rows of the IMDb task, and kv_tokens and kv_retention of its first `token_sample` reviews."""
    outcomes = settings(options)
    sampled = [press_from_label(label) for label in options.presses]
    tokens, texts, offsets = [], [], []
    for number, (example_id, text, label) in enumerate(tqdm(list(zip(reviews.ids, reviews.texts, reviews.labels)),
                                                            desc="IMDb reviews", disable=not progress)):
        prompt = sentiment_prompt(lm, text)
        state = prefill(lm, prompt)
        full_first = answer_logits(lm, press_cache(state, outcomes[0].press, 1.0), prompt)[0]
        for setting in outcomes:
            first = full_first if setting.press.name == FULL else \
                answer_logits(lm, press_cache(state, setting.press, setting.budget), prompt)[0]
            setting.add(sentiment_prediction(lm, first) == label, *first_token_comparison(full_first, first))
        if number < options.token_sample:
            texts.append(prompt.context_text)
            offsets.append(prompt.offsets[:prompt.context_length])
            for press in sampled:
                trace = survival(prompt, press_cache(state, press, options.token_budget), press, options.token_budget)
                tokens.append(token_rows(example_id, trace, press.label))
    results = pd.DataFrame([setting.row("imdb", reviews.ids) for setting in outcomes])
    token_frame = pd.concat(tokens, ignore_index=True) if tokens else pd.DataFrame()
    return {"kv_results": results, "kv_tokens": token_frame,
            "kv_retention": kept_by_category(token_frame, texts, offsets, reviews.ids, annotate, bands_of)}


def kept_by_category(tokens: pd.DataFrame, texts: list[str], offsets: list, example_ids: list[int],
                     annotate: Annotator, bands_of: Callable) -> pd.DataFrame:
    """kv_retention rows: the sampled prompts' kept shares summed by facet and category (spaCy words of the review)."""
    if tokens.empty:
        return retention_rows(tokens)
    categories = token_categories(texts, offsets, list(annotate(texts)), bands_of(texts))
    tagged = pd.concat([frame.assign(example_id=example_id) for example_id, frame in zip(example_ids, categories)],
                       ignore_index=True)
    return retention_rows(tokens.merge(tagged, on=["example_id", "position"]))


@dataclass(frozen=True)
class Needle:
    example_id: int
    haystack: int
    depth: float


def needle_plan(options: KVOptions) -> list[Needle]:
    """Every haystack at every depth; example id = haystack × depths + the depth's number."""
    depths = depth_grid(options.depths)
    return [Needle(haystack * len(depths) + number, haystack, depth)
            for haystack in range(options.needles) for number, depth in enumerate(depths)]


def haystack_articles(articles: list[str], haystacks: int, seed: int) -> list[list[str]]:
    """Per haystack its own articles: a seeded shuffle of them all dealt round-robin (disjoint while there are
    enough)."""
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    return [[articles[i] for i in order[number::haystacks]] or articles for number in range(haystacks)]


def needle_seed(options: KVOptions, example_id: int) -> int:
    return options.seed * 1_000_003 + example_id


def needle_task(lm: LanguageModel, options: KVOptions, articles: list[str], progress: bool = True
                ) -> dict[str, pd.DataFrame]:
    """kv_results rows of the needle task."""
    plan = needle_plan(options)
    stacks = haystack_articles(articles, options.needles, options.seed)
    outcomes = settings(options)
    for needle in tqdm(plan, desc="needles", disable=not progress):
        found = needle_prompt(lm, stacks[needle.haystack], needle.depth, needle_seed(options, needle.example_id),
                              options.haystack_tokens)
        state = prefill(lm, found.prompt)
        expected = torch.tensor(found.answer_ids)
        full_rows = answer_logits(lm, press_cache(state, outcomes[0].press, 1.0), found.prompt, found.answer_ids)
        for setting in outcomes:
            rows = full_rows if setting.press.name == FULL else \
                answer_logits(lm, press_cache(state, setting.press, setting.budget), found.prompt, found.answer_ids)
            exact = bool((rows[:len(found.answer_ids)].argmax(dim=-1) == expected).all())
            setting.add(exact, *first_token_comparison(full_rows[0], rows[0]))
    ids, depths = [n.example_id for n in plan], [n.depth for n in plan]
    return {"kv_results": pd.DataFrame([setting.row("needle", ids, depths) for setting in outcomes])}


def timing_task(lm: LanguageModel, options: KVOptions, articles: list[str], progress: bool = True
                ) -> dict[str, pd.DataFrame]:
    """kv_timings rows: per context, the full cache and every press × budget, decoded in turn in each repeat."""
    threads = options.threads or machine_cores()
    settle(threads, options.quiet_wait)
    rows = []
    for context in options.timing_contexts:
        prompt = needle_prompt(lm, articles, 0.5, options.seed, context).prompt
        state = prefill(lm, prompt)
        runs = settings(options)
        warm_up = press_cache(state, runs[0].press, 1.0)
        answer(lm, warm_up, prompt, None, options.decode_tokens, stop_at_eos=False)
        times: list[list[float]] = [[] for _ in runs]
        for repeat in tqdm(range(options.repeats), desc=f"timing at {context} tokens", disable=not progress):
            for number in np.roll(np.arange(len(runs)), -repeat):      # every setting in turn, the order rotating
                pressed = press_cache(state, runs[number].press, runs[number].budget)
                times[number].append(answer(lm, pressed, prompt, None, options.decode_tokens, stop_at_eos=False)[3])
        extra = int(prompt.question_ids.shape[1]) + options.decode_tokens
        full_ms = statistics.median(times[0])
        for setting, measured in zip(runs, times):
            pressed = press_cache(state, setting.press, setting.budget)
            rows.append({"context_tokens": context, "prompt_tokens": prompt.length, "press": setting.press.label,
                         "press_config": json.dumps(setting.press.config()), "budget": float(setting.budget),
                         "decode_tokens": options.decode_tokens, "decode_ms": statistics.median(measured),
                         "cache_mb": pressed.nbytes(extra) / MEGABYTE, "full_decode_ms": full_ms})
    return {"kv_timings": pd.DataFrame(rows)}


def run(options: KVOptions, db: str | Path | None = None, data_dir: str | None = None, model: str | None = None,
        lm: LanguageModel | None = None, annotate: Annotator | None = None, progress: bool = True) -> str:
    """Run the sweep's parts in turn, storing each as it finishes; returns the sweep id. An exception stops the run
    after recording, in the sweep's config, the part it stopped in."""
    lm = lm or load_language_model(model)
    for context in options.timing_contexts:
        if context >= lm.max_length:
            raise KVOptionError(f"timing-contexts must stay below the model's {lm.max_length} positions, got "
                                f"{context}.")
    reviews = load_dataset("imdb", "test", data_dir, limit=options.imdb, seed=options.seed) if options.imdb else None
    articles = load_dataset("ag_news", "test", data_dir).texts if options.needles or options.timing_contexts else []
    plan = needle_plan(options)
    sweep_id = f"kv-{options.profile}-{datetime.now():%Y%m%d-%H%M%S}"
    config = {"options": asdict(options), "cpu": cpu_name(), "threads": options.threads or machine_cores(),
              "model": lm.name, "layers": lm.num_layers, "kv_heads": lm.num_kv_heads,
              "weights_mb": lm.weight_bytes / MEGABYTE,
              "presses": {label: press_from_label(label).describe() for label in (FULL, *options.presses)},
              "finished": [], "planned": [task for task in TASKS if _planned(task, options)]}
    kv_store.start_kv_sweep({"sweep_id": sweep_id, "profile": options.profile, "model": lm.name, "config": config,
                             "imdb_ids": reviews.ids if reviews else None,
                             "imdb_labels": reviews.labels if reviews else None,
                             "needle_ids": [n.example_id for n in plan] or None,
                             "needle_depths": [n.depth for n in plan] or None,
                             "needle_haystacks": [n.haystack for n in plan] or None}, db)
    parts = {"imdb": lambda: imdb_task(lm, options, reviews, annotate or spacy_annotator(),
                                       lambda texts: frequency_bands("imdb", data_dir, texts), progress),
             "needle": lambda: needle_task(lm, options, articles, progress),
             "timing": lambda: timing_task(lm, options, articles, progress)}
    for task in config["planned"]:
        try:
            tables = parts[task]()
        except BaseException as error:
            config["stopped"] = {"task": task, "error": f"{type(error).__name__}: {str(error)[:200]}"}
            with contextlib.suppress(Exception):      # the error that stopped the run is the one to report
                kv_store.write_kv_part(sweep_id, config, {}, db)
            raise
        config["finished"].append(task)
        kv_store.write_kv_part(sweep_id, config, {name: frame for name, frame in tables.items() if len(frame)}, db)
        if progress:
            print(f"{sweep_id}: {task} stored", flush=True)
    return sweep_id


def _planned(task: str, options: KVOptions) -> bool:
    return {"imdb": options.imdb > 0, "needle": options.needles > 0, "timing": bool(options.timing_contexts)}[task]


def comma_numbers(kind: type, name: str) -> Callable[[str], tuple]:
    """An argparse type: comma-separated numbers, with an error naming the option."""
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be comma-separated numbers, got {text!r}") from None
    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser, dataset=False, profile=False)
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="quick: minutes; cpu: the docs' block")
    parser.add_argument("--model", help="a causal LM hub id or folder (default: $LENS_LANGUAGE_MODEL, else the "
                                        "packaged SmolLM2-135M-Instruct)")
    parser.add_argument("--imdb", type=int, help="IMDb test reviews (0 skips the task)")
    parser.add_argument("--needles", type=int, help="needle haystacks (0 skips the task)")
    parser.add_argument("--depths", type=int, help="needle depths per haystack, evenly spaced from 0 to 1")
    parser.add_argument("--haystack-tokens", type=int, help=f"haystack size in tokens (cpu: {NEEDLE_TOKENS})")
    parser.add_argument("--budgets", type=comma_numbers(float, "--budgets"),
                        help="shares of the context kept (default 0.1,0.25,0.5,0.75)")
    parser.add_argument("--presses", type=lambda text: tuple(p.strip() for p in text.split(",") if p.strip()),
                        help=f"presses compared with the full cache (default {','.join(default_presses())})")
    parser.add_argument("--timing-contexts", type=comma_numbers(int, "--timing-contexts"),
                        help="context sizes timed, in tokens (cpu: 2048,4096; an empty value skips timing)")
    parser.add_argument("--repeats", type=int, help="timing repeats (the median is kept)")
    parser.add_argument("--threads", type=int, help="torch threads while timed (default: the physical cores)")
    parser.add_argument("--quiet-wait", type=float, help="seconds to wait for a quiet machine before timing")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    try:
        options = kv_options(args.profile, imdb=args.imdb, needles=args.needles, depths=args.depths,
                             haystack_tokens=args.haystack_tokens, budgets=args.budgets, presses=args.presses,
                             timing_contexts=args.timing_contexts, repeats=args.repeats, threads=args.threads,
                             quiet_wait=args.quiet_wait, seed=args.seed)
    except KVOptionError as error:
        parser.error(str(error))
    with clear_errors():
        try:
            sweep_id = run(options, db_path(args.db, args.artifacts), args.data_dir, args.model)
        except KVOptionError as error:
            parser.error(str(error))
    print(f"stored sweep {sweep_id}; `python -m pipelines.results --write` renders it into docs/results.md")


if __name__ == "__main__":
    main()
