"""Decode speed of a pressed key-value cache at several batch sizes: where pressing the cache pays.

At batch 1, a decoded token reads every weight once and the cache once. SmolLM2-135M's weights (538 MB in float32)
dwarf its cache at 2k context (100 MB), so pressing the cache to 25% can save at most 1.13× (the byte ceiling of the
KV sweep's timing table). A server decoding B sequences at once reads the weights once for all of them and B caches:
the cache's share of the bytes grows with B, and with it what pressing buys. This benchmark decodes B copies of one
AG News needle prompt's cache (the full cache, then each press at the budget) in lockstep, every setting in turn
within each round, and prints the median ms per decoding step, the speed-up against the full cache at the same
batch, and the byte ceiling (weights + B × full cache) / (weights + B × pressed cache).

    scripts/with-env .venv/bin/python -m benchmarks.kv_batch_speed                      # batches 1, 4, 8, 16 at 2k
    scripts/with-env .venv/bin/python -m benchmarks.kv_batch_speed --write docs/kv_cache.md
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from pipelines.common import clear_errors
from pipelines.doc_blocks import rewrite_block
from pipelines.kv import comma_numbers, label_error
from pipelines.timing import machine_cores, settle
from pruning_core.analysis.kv import FULL, byte_ceiling
from pruning_core.generation import LanguageModel, load_language_model, prefill, press_cache, press_from_label
from pruning_core.generation.cache import Pressed, as_cache
from pruning_core.generation.model import Prompt
from pruning_core.generation.tasks import needle_prompt
from pruning_core.generation.trace import MEGABYTE
from pruning_core.runtime import cpu_name
from pruning_core.text.data import load_dataset

BATCH_START, BATCH_END = "<!-- kv-batch-speed:start -->", "<!-- kv-batch-speed:end -->"


def batched(pressed: Pressed, batch: int) -> Pressed:
    """The same pressed cache for `batch` sequences: every layer's keys and values copied along the batch."""
    return replace(pressed, keys=[k.expand(batch, -1, -1, -1).contiguous() for k in pressed.keys],
                   values=[v.expand(batch, -1, -1, -1).contiguous() for v in pressed.values])


@torch.inference_mode()
def decode_batch(lm: LanguageModel, pressed: Pressed, prompt: Prompt, tokens: int) -> tuple[torch.Tensor, float]:
    """Read the question over a batched pressed cache, then decode `tokens` greedily for every sequence at once ->
    (the answer ids (B, tokens), ms per decoding step: one new token for each of the B sequences)."""
    batch = pressed.keys[0].shape[0]
    question = prompt.question_ids.expand(batch, -1)
    cache = as_cache(pressed, question.shape[1] + tokens)
    position = prompt.context_length
    output = lm.model(input_ids=question, past_key_values=cache, use_cache=True,
                      position_ids=torch.arange(position, position + question.shape[1]).expand(batch, -1))
    position += question.shape[1]
    answers = [output.logits[:, -1].argmax(dim=-1, keepdim=True)]                     # (B, 1)
    start = time.perf_counter()
    for _ in range(tokens - 1):
        output = lm.model(input_ids=answers[-1], past_key_values=cache, use_cache=True,
                          position_ids=torch.full((batch, 1), position))
        answers.append(output.logits[:, -1].argmax(dim=-1, keepdim=True))
        position += 1
    return torch.cat(answers, dim=1), 1000 * (time.perf_counter() - start) / max(tokens - 1, 1)


def measure(lm: LanguageModel, prompt: Prompt, presses: list[str], budget: float, batches: list[int],
            rounds: int, tokens: int, progress: bool = True) -> list[dict]:
    """One row per batch size and setting (the full cache first): median ms per step, cache MB, speed-up, ceiling."""
    state = prefill(lm, prompt)
    settings = {FULL: press_cache(state, press_from_label(FULL), 1.0),
                **{label: press_cache(state, press_from_label(label), budget) for label in presses}}
    weights_mb, extra = lm.weight_bytes / MEGABYTE, int(prompt.question_ids.shape[1]) + tokens
    rows = []
    for batch in batches:
        caches = {label: batched(pressed, batch) for label, pressed in settings.items()}
        for pressed in caches.values():                                              # warm-up
            decode_batch(lm, pressed, prompt, 2)
        times: dict[str, list[float]] = {label: [] for label in caches}
        for number in tqdm(range(rounds), desc=f"batch {batch}", disable=not progress):
            for label in np.roll(list(caches), -number):                             # every setting in turn
                times[label].append(decode_batch(lm, caches[label], prompt, tokens)[1])
        full_ms, full_mb = statistics.median(times[FULL]), caches[FULL].nbytes(extra) / MEGABYTE
        for label, pressed in caches.items():
            ms, mb = statistics.median(times[label]), pressed.nbytes(extra) / MEGABYTE
            rows.append({"batch": batch, "press": label, "budget": 1.0 if label == FULL else budget, "ms": ms,
                         "ms_per_sequence": ms / batch, "cache_mb": mb, "speedup": full_ms / ms,
                         "ceiling": byte_ceiling(weights_mb, full_mb, mb)})
    return rows


def markdown_table(rows: list[dict], context: int, prompt_tokens: int, tokens: int, threads: int,
                   weights_mb: float) -> str:
    lines = [f"Measured on {cpu_name()}, {threads} threads: {context:,}-token AG News needle prompts "
             f"({prompt_tokens:,} tokens with the question), {tokens} tokens decoded greedily per sequence, the median "
             f"of the rounds; every setting in turn within each round. ms/step: one decoding step, a new token for "
             f"every sequence of the batch. Byte ceiling: (weights + B × full cache) / (weights + B × pressed "
             f"cache), weights {weights_mb:,.0f} MB.", "",
             "| batch | press | budget | ms/step | ms per sequence | cache MB | speed-up | byte ceiling |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        press = "full cache" if row["press"] == FULL else f"`{row['press']}`"
        lines.append(f"| {row['batch']} | {press} | {row['budget']:.0%} | {row['ms']:.1f} | "
                     f"{row['ms_per_sequence']:.1f} | {row['cache_mb']:.1f} | {row['speedup']:.2f}× | "
                     f"{row['ceiling']:.2f}× |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=comma_numbers(int, "--batches"), default=(1, 4, 8, 16),
                        help="batch sizes (default 1,4,8,16)")
    parser.add_argument("--context", type=int, default=2048, help="haystack tokens (default 2048)")
    parser.add_argument("--budget", type=float, default=0.25,
                        help="share of the cache each press keeps (default 0.25)")
    parser.add_argument("--presses", default="streaming,snapkv:kernel=15",
                        help="press labels, comma-separated (default streaming,snapkv:kernel=15)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--tokens", type=int, default=16, help="tokens decoded per sequence (default 16)")
    parser.add_argument("--threads", type=int, default=machine_cores(), help="torch threads (default: the cores)")
    parser.add_argument("--model", help="hub id or folder (default: the packaged SmolLM2-135M-Instruct)")
    parser.add_argument("--data-dir", help="folder holding ag_news/test.parquet (default: as the pipelines find it)")
    parser.add_argument("--write", metavar="FILE", help=f"also rewrite this file's {BATCH_START} block")
    args = parser.parse_args(argv)
    if not args.batches or min(args.batches) < 1:
        parser.error(f"--batches must be whole numbers ≥ 1, got {list(args.batches)!r}")
    if not 0 < args.budget <= 1:
        parser.error(f"--budget must lie in (0, 1], got {args.budget!r}")
    presses = [label.strip() for label in args.presses.split(",") if label.strip()]
    errors = [error for label in presses if (error := label_error(label))]
    if errors:                                                                       # before the model loads
        parser.error(f"--presses: {errors[0]}")
    with clear_errors():
        lm = load_language_model(args.model)
        articles = load_dataset("ag_news", "test", args.data_dir).texts
        prompt = needle_prompt(lm, articles, 0.5, 0, args.context).prompt
        settle(args.threads)
        rows = measure(lm, prompt, presses, args.budget, args.batches, args.rounds, args.tokens)
    table = markdown_table(rows, args.context, prompt.length, args.tokens, args.threads, lm.weight_bytes / MEGABYTE)
    print(table)
    if args.write:
        rewrite_block(Path(args.write), table, BATCH_START, BATCH_END)


if __name__ == "__main__":
    main()
