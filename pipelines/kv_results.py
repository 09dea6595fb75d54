"""The KV-cache block of docs/results.md (`<!-- kv-results:start -->` … `<!-- kv-results:end -->`), rendered from the
latest stored sweep of pipelines/kv.py, never typed.

    python -m pipelines.kv_results [--profile cpu] [--db FILE]      # print it; pipelines.results --write writes it

Per task (IMDb zero-shot sentiment, the AG News needle), a table of every press × budget: accuracy (needle: exact
match) with its 95% bootstrap interval, the paired difference from the full cache on the same examples in points with
its 95% interval and its Holm–Bonferroni-corrected interval over the task's comparisons, first-token agreement and
KL(full ‖ pressed); then the smallest budget within 1 point of the full cache per press, and which press gets there
at ≤ 25% of the cache first. Then the needle's exact match by depth at 25%, and decode ms per token, the speed-up
against the full cache and the cache's MB at each timed context. The statistics live in pruning_core.analysis.kv.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from pruning_core.analysis.findings.engine import CORRECTION, FAMILY_ERROR
from pruning_core.analysis.kv import (FULL, TASK_METRICS, depth_table, first_within, kept_by_kind, nearest_budget,
                                      paired_table, smallest_within, speedups)
from pruning_core.paths import db_path
from pruning_core.storage import kv as kv_store

from .common import clear_errors
TASK_TITLES = {"imdb": "IMDb zero-shot sentiment", "needle": "AG News needle (secret code in a haystack)"}
POINTS = 1.0          # "within a point of the full cache"
SHOWN_BUDGET = 0.25   # the needle depth table's budget, and the bar of "which press gets there first"


def kv_block(db: str | Path | None = None, profile: str = "cpu") -> str:
    """The markdown block of the profile's latest KV sweep, or a line saying what to run ('_No ...': the writer then
    keeps what the block had)."""
    sweep_id = kv_store.latest_kv_sweep(profile, db)
    if sweep_id is None:
        return f"_No `{profile}` KV-cache benchmark yet: run `python -m pipelines.kv --profile {profile}`._"
    sweep = kv_store.kv_sweep(sweep_id, db)
    order = list(sweep["config"].get("presses") or [])         # the full cache, then the presses as run
    results, timings = (in_order(frame, order) for frame in (kv_store.kv_results(sweep_id, db),
                                                            kv_store.kv_timings(sweep_id, db)))
    parts = [sweep_line(sweep)]
    for task in TASK_TITLES:
        rows = results[results["task"] == task]
        if len(rows):
            parts += task_section(rows, task)
    if "needle" in set(results["task"]):
        parts.append(depth_section(results))
    tokens = kv_store.kv_tokens(sweep_id, db=db)
    if len(tokens):
        parts.append(kinds_section(kv_store.kv_retention(sweep_id, db), tokens, order))
    if len(timings):
        parts.append(timing_section(timings, sweep["config"]))
    return "\n\n".join(parts)


def in_order(rows: pd.DataFrame, presses: list[str]) -> pd.DataFrame:
    """Rows sorted by the presses' order (others after them, by name), budgets rising within each."""
    rank = {press: number for number, press in enumerate(presses)}
    key = rows["press"].map(lambda press: (rank.get(press, len(rank)), press))
    return rows.assign(_key=key).sort_values(["_key", "budget"], kind="stable").drop(columns="_key")


def sweep_line(sweep: dict) -> str:
    """Which sweep, model and machine, and what it finished (or where it stopped)."""
    config = sweep["config"]
    finished = ", ".join(config.get("finished") or []) or "nothing"
    stopped = config.get("stopped")
    stop = f" It stopped in the {stopped['task']} part ({_cell(stopped['error'])})." if stopped else ""
    shape = (f", {config['layers']} layers, {config['kv_heads']} key-value heads" if config.get("layers") else "")
    return (f"Sweep `{sweep['sweep_id']}` ({sweep['profile']} profile): model `{_cell(sweep['model'])}`{shape}; "
            f"{_cell(config.get('cpu', 'CPU not recorded'))}, {_threads(config)}. Finished: "
            f"{finished}.{stop}")


def task_section(rows: pd.DataFrame, task: str) -> list[str]:
    """A task's press × budget table and its line on the smallest budget within a point of the full cache."""
    table = paired_table(rows, task)
    metric = TASK_METRICS[task]
    n = int(table["n"].iloc[0])
    lines = [f"**{TASK_TITLES[task]}**, {n:,} examples, every setting on the same ones:", "",
             f"| press | budget | {metric} [95% CI] | vs full cache (points, 95% CI) | {CORRECTION} CI (level) | "
             "first token agrees | KL(full ‖ pressed) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in table.itertuples(index=False):
        full = row.press == FULL
        cells = ["full cache" if full else f"`{row.press}`", _share(row.budget),
                 f"{row.accuracy:.3f} [{row.accuracy_low:.3f}, {row.accuracy_high:.3f}]",
                 "" if full else f"{row.points:+.1f} [{row.low:+.1f}, {row.high:+.1f}]",
                 "" if full else f"[{row.corrected_low:+.1f}, {row.corrected_high:+.1f}] at "
                                 f"{100 * row.corrected_confidence:.4g}%",
                 f"{100 * row.agreement:.1f}%", f"{row.kl_mean:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return ["\n".join(lines), within_line(table, task)]


def within_line(table: pd.DataFrame, task: str, points: float = POINTS, limit: float = SHOWN_BUDGET) -> str:
    """'Smallest budget within 1 point of the full cache's accuracy (0.700): ...; at ≤ 25% first: ...'."""
    smallest = smallest_within(table, points)
    metric = TASK_METRICS[task]
    reference = float(table.loc[table["press"] == FULL, "accuracy"].iloc[0])
    named = "; ".join(f"`{press}` {_share(budget) if budget is not None else 'none of its budgets'}"
                      for press, budget in smallest.items())
    first = first_within(table, smallest, limit)
    reached = (f"`{first[0]}` gets there at ≤ {_share(limit)} of the cache first ({_share(smallest[first[0]])})"
               + (f", then {', '.join(f'`{press}` ({_share(smallest[press])})' for press in first[1:])}"
                  if len(first) > 1 else "")
               if first else f"no press gets there at ≤ {_share(limit)} of the cache")
    return (f"Smallest budget within {points:g} point of the full cache's {metric} ({reference:.3f}; point "
            f"estimates, the intervals are above): {named}. {reached[0].upper()}{reached[1:]}. Intervals are paired "
            f"bootstrap intervals over the examples; the corrected ones are {CORRECTION} at family-wise error "
            f"{FAMILY_ERROR:.0%} over the task's {int((table['press'] != FULL).sum())} comparisons with the full "
            "cache.")


def depth_section(results: pd.DataFrame) -> str:
    """Needle exact match per press (rows) and depth (columns) at the budget nearest 25%."""
    budget = nearest_budget(results.loc[(results["task"] == "needle") & (results["press"] != FULL), "budget"],
                            SHOWN_BUDGET)
    table = depth_table(results, budget if budget is not None else 1.0)
    haystacks = int(results.loc[results["task"] == "needle", "n"].iloc[0]) // max(len(table.columns), 1)
    lines = [f"Needle exact match by depth (0%: the haystack's start), {haystacks} haystack"
             f"{'s' if haystacks != 1 else ''} per depth, every press at {_share(budget or 1.0)} of the cache:", "",
             "| press | " + " | ".join(_share(depth) for depth in table.columns) + " |",
             "|---|" + "---:|" * len(table.columns)]
    for press, row in table.iterrows():
        name = "full cache" if press == FULL else f"`{press}`"
        lines.append(f"| {name} | " + " | ".join("" if np.isnan(v) else f"{100 * v:.0f}%" for v in row) + " |")
    return "\n".join(lines)


def kinds_section(retention: pd.DataFrame, tokens: pd.DataFrame, order: list[str]) -> str:
    """Which kinds of tokens each press keeps on the sampled reviews: parts of speech, stopwords, the chat template."""
    table = kept_by_kind(retention, tokens)
    rank = {press: number for number, press in enumerate(order)}
    table = table.loc[sorted(table.index, key=lambda press: (rank.get(press, len(rank)), press))]
    budget, reviews = float(tokens["budget"].iloc[0]), tokens["example_id"].nunique()
    lines = [f"**What each press keeps** at {_share(budget)} of the cache, on the first {reviews} IMDb reviews: the "
             "share of each kind of context token held, averaged over layers and key-value heads (spaCy's parts of "
             "speech of the review's words; \"chat template\": the tokens around the review that the template adds, "
             "where attention sinks sit):", "",
             "| press | " + " | ".join(table.columns) + " |", "|---|" + "---:|" * len(table.columns)]
    for press, row in table.iterrows():
        lines.append(f"| `{press}` | " + " | ".join("" if np.isnan(v) else f"{100 * v:.0f}%" for v in row) + " |")
    return "\n".join(lines)


def timing_section(timings: pd.DataFrame, config: dict) -> str:
    """Decode ms per token, speed-up against the full cache and cache MB, per press × budget and timed context; with
    the model's weight MB in the config, the speed-up's byte ceiling beside each."""
    weights_mb = config.get("weights_mb")
    timed = speedups(timings, weights_mb)
    contexts = sorted(timed["context_tokens"].unique())
    columns = ["ms/token", "speed-up", *(["byte ceiling"] if weights_mb else []), "cache MB"]
    lines = ["| press | budget | " + " | ".join(f"{c:,} tokens: {column}" if number == 0 else column
                                              for c in contexts for number, column in enumerate(columns)) + " |",
             "|---|---:|" + "---:|" * len(columns) * len(contexts)]
    for (press, budget), group in timed.groupby(["press", "budget"], sort=False):
        by_context = group.set_index("context_tokens")
        cells = []
        for context in contexts:
            if context not in by_context.index:
                cells += [""] * len(columns)
                continue
            row = by_context.loc[context]
            cells += [f"{row['decode_ms']:.1f}", f"{row['speedup']:.2f}×",
                      *([f"{row['ceiling']:.2f}×"] if weights_mb else []), f"{row['cache_mb']:.1f}"]
        name = "full cache" if press == FULL else f"`{press}`"
        lines.append(f"| {name} | {_share(budget)} | " + " | ".join(cells) + " |")
    options = config.get("options", {})
    prompts = ", ".join(f"{c:,} → {int(p):,}" for c, p in timed.groupby("context_tokens")["prompt_tokens"].first()
                        .items())
    note = (f"Decoding {int(timed['decode_tokens'].iloc[0])} tokens greedily after the prompt (haystack tokens → "
            f"prompt tokens: {prompts}), every setting in turn within each of {options.get('repeats', '?')} repeats; "
            f"the median ms per token, on {_cell(config.get('cpu', 'a CPU not recorded'))} with "
            f"{_threads(config)}. Cache MB: keys and values held at the end of decoding.")
    if weights_mb:
        note += (f" Byte ceiling: the speed-up if a token cost only reading the weights ({weights_mb:,.0f} MB) and "
                 "the cache once, (weights + full cache) / (weights + pressed cache). Decoding one token at batch 1 "
                 "reads every weight, so where the cache is small beside the weights, pressing it cannot buy much.")
    return "**Decode speed**:\n\n" + "\n".join(lines) + "\n\n" + note


def _threads(config: dict) -> str:
    threads = config.get("threads")
    return f"{threads} thread{'s' if threads != 1 else ''}" if threads else "threads not recorded"


def _share(value: float) -> str:
    """0.25 -> '25%'."""
    return f"{100 * float(value):.4g}%"


def _cell(text: object) -> str:
    """Text safe inside markdown (and a table cell)."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="DuckDB file (default artifacts/lens.duckdb)")
    parser.add_argument("--artifacts", help="artifacts folder (default: $LENS_ARTIFACTS, else artifacts/)")
    parser.add_argument("--profile", default="cpu", help="which profile's sweep (default cpu)")
    args = parser.parse_args(argv)
    with clear_errors():
        print(kv_block(db_path(args.db, args.artifacts), args.profile))


if __name__ == "__main__":
    main()
