"""What a KV-cache benchmark sweep's rows say, before any formatting: each press and budget against the full cache on
the same examples (paired by example id) with bootstrap intervals, Holm-corrected over a task's comparisons; the
smallest budget within a point of the full cache; exact match by needle depth; decode speed-ups; and which kinds of
prompt tokens a press keeps (parts of speech, stopwords, frequency bands: the text lens's spaCy facets).

Rows are store.kv_results / kv_timings / kv_retention frames; the full cache is press FULL at budget 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import bootstrap_mean, bootstrap_sums
from .findings.engine import CONFIDENCE, FAMILY_ERROR, Above, holm_levels, interval
from .linguistics import FACET_COLUMNS, Annotation, FrequencyBands, align_tokens, facet_categories

FULL = "full"
TASK_METRICS = {"imdb": "accuracy", "needle": "exact match"}    # what each task's `accuracy` column measures
RESAMPLES = 2_000
PAIRED_COLUMNS = ["press", "budget", "n", "accuracy", "accuracy_low", "accuracy_high", "points", "low", "high",
                  "p_value", "corrected_confidence", "corrected_low", "corrected_high", "agreement", "kl_mean"]


def first_token_comparison(full_log_probs, pressed_log_probs) -> tuple[bool, float]:
    """(whether the two first-token distributions (V,) log-probabilities share their argmax over the vocabulary,
    KL(full || pressed) in nats)."""
    full, pressed = np.asarray(full_log_probs, dtype=np.float64), np.asarray(pressed_log_probs, dtype=np.float64)
    if full.shape != pressed.shape or full.ndim != 1:
        raise ValueError(f"log-probabilities must be two (V,) arrays of one size, got {full.shape} and "
                         f"{pressed.shape}.")
    kl = float(np.sum(np.exp(full) * (full - pressed)))
    return bool(full.argmax() == pressed.argmax()), max(kl, 0.0)


def full_row(results: pd.DataFrame, task: str) -> pd.Series:
    """The task's full-cache row; ValueError naming the task when the rows lack it."""
    rows = results[(results["task"] == task) & (results["press"] == FULL)]
    if rows.empty:
        raise ValueError(f"task {task!r} has no full-cache row to compare with.")
    return rows.iloc[0]


def paired_values(row: pd.Series, reference: pd.Series, column: str = "correct") -> np.ndarray:
    """(n,) the row's per-example `column` in the reference row's example order, paired by example id; ValueError
    naming the press and budget when the two rows do not hold the same examples."""
    ids, reference_ids = np.asarray(row["example_ids"]), np.asarray(reference["example_ids"])
    values = np.asarray(row[column])
    if len(ids) != len(values) or len(set(ids.tolist())) != len(ids):
        raise ValueError(f"{row['task']} {row['press']} at {row['budget']:g}: {len(values)} values for {len(ids)} "
                         "example ids (or an id twice); rerun the benchmark.")
    by_id = pd.Series(values, index=ids)
    missing = sorted(set(reference_ids.tolist()) ^ set(ids.tolist()))
    if missing:
        raise ValueError(f"{row['task']} {row['press']} at {row['budget']:g} and the full cache hold different "
                         f"examples (ids {missing[:5]}{' ...' if len(missing) > 5 else ''}); they cannot be paired.")
    return by_id.loc[reference_ids].to_numpy()


def paired_table(results: pd.DataFrame, task: str, resamples: int = RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Per press and budget of a task (the full cache first): accuracy with its 95% bootstrap interval, the paired
    difference from the full cache in points with its 95% interval and, over the task's comparisons, its
    Holm–Bonferroni-corrected interval (each tested for "differs from the full cache" at the level Holm's step-down
    gives it, family-wise error 5%), first-token agreement and mean KL. Presses keep the order they first appear in,
    budgets rise within each. Columns: PAIRED_COLUMNS."""
    rows = results[results["task"] == task]
    reference = full_row(results, task)
    full_correct = np.asarray(reference["correct"], dtype=float)
    n = len(full_correct)
    pressed = in_press_order(rows[rows["press"] != FULL])
    correct = np.column_stack([paired_values(row, reference).astype(float) for _, row in pressed.iterrows()]) \
        if len(pressed) else np.zeros((n, 0))                                      # (n, k) in the full row's order
    differences = correct - full_correct[:, None]
    no_comparison = dict.fromkeys(["points", "low", "high", "p_value", "corrected_confidence", "corrected_low",
                                   "corrected_high"], np.nan)
    table = [_accuracy_cells(reference, full_correct, seed) | no_comparison]
    if len(pressed) and n:
        samples = 100 * bootstrap_sums(differences, resamples, seed) / n          # (R, k) points, same resamples
        low, high = interval(samples, 1 - CONFIDENCE)
        p_values = np.array([Above(0.0).p_value(samples[:, k]) for k in range(samples.shape[1])])   # two-sided at 0
        levels = holm_levels(p_values, FAMILY_ERROR)
        for k, (_, row) in enumerate(pressed.iterrows()):
            corrected_low, corrected_high = interval(samples[:, [k]], levels[k])
            table.append(_accuracy_cells(row, correct[:, k], seed) | {
                "points": 100 * float(differences[:, k].mean()), "low": low[k], "high": high[k],
                "p_value": p_values[k], "corrected_confidence": 1 - levels[k], "corrected_low": corrected_low[0],
                "corrected_high": corrected_high[0]})
    return pd.DataFrame(table, columns=PAIRED_COLUMNS)


def in_press_order(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with each press's together, presses in the order they first appear, budgets rising within each."""
    first = {press: number for number, press in enumerate(dict.fromkeys(rows["press"]))}
    return rows.assign(_order=rows["press"].map(first)).sort_values(["_order", "budget"], kind="stable").drop(
        columns="_order")


def _accuracy_cells(row: pd.Series, correct: np.ndarray, seed: int) -> dict:
    """A row's accuracy with its 95% bootstrap interval, `correct` (n,) in the full row's example order (so every row
    resamples the same examples)."""
    mean, low, high = bootstrap_mean(correct, RESAMPLES, seed) if len(correct) else (np.nan, np.nan, np.nan)
    return {"press": row["press"], "budget": float(row["budget"]), "n": len(correct), "accuracy": mean,
            "accuracy_low": low, "accuracy_high": high, "agreement": float(row["agreement"]),
            "kl_mean": float(row["kl_mean"])}


def smallest_within(table: pd.DataFrame, points: float = 1.0) -> dict[str, float | None]:
    """{press: its smallest budget whose accuracy is within `points` of the full cache's (point estimates), None when
    none is}, for a frame with press, budget and accuracy (the full cache among its rows)."""
    reference = table.loc[table["press"] == FULL, "accuracy"]
    if reference.empty:
        raise ValueError("the table has no full-cache row to compare with.")
    bar = float(reference.iloc[0]) - points / 100 - 1e-9
    found = {}
    for press, rows in table[table["press"] != FULL].groupby("press", sort=False):
        close = rows[rows["accuracy"] >= bar]
        found[press] = float(close["budget"].min()) if len(close) else None
    return found


def first_within(table: pd.DataFrame, smallest: dict[str, float | None], limit: float = 0.25) -> list[str]:
    """The presses whose smallest budget within the bar (smallest_within) is at most `limit`, the smallest budget
    first, ties by accuracy at that budget (highest first)."""
    def accuracy(press: str) -> float:
        rows = table[(table["press"] == press) & (table["budget"] == smallest[press])]
        return float(rows["accuracy"].iloc[0]) if len(rows) else 0.0

    reached = [press for press, budget in smallest.items() if budget is not None and budget <= limit + 1e-9]
    return sorted(reached, key=lambda press: (smallest[press], -accuracy(press)))


def nearest_budget(budgets, target: float = 0.25) -> float | None:
    """The budget among `budgets` nearest `target` (the smaller on a tie), None when there is none."""
    values = sorted({float(b) for b in budgets})
    return min(values, key=lambda b: (abs(b - target), b)) if values else None


def depth_table(results: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Needle exact match by depth: one row per press (the full cache first) at `budget` (the full cache at its own),
    one column per depth, each cell the share of haystacks answered exactly."""
    chosen = (results["press"] == FULL) | np.isclose(results["budget"].astype(float), budget)
    rows = results[(results["task"] == "needle") & chosen]
    found = {}
    for _, row in rows.iterrows():
        frame = pd.DataFrame({"depth": np.asarray(row["depths"], dtype=float),
                              "correct": np.asarray(row["correct"], dtype=float)})
        found[row["press"]] = frame.groupby("depth")["correct"].mean()
    table = pd.DataFrame(found).T
    return table.reindex(sorted(table.index, key=lambda press: press != FULL))    # the full cache first, stable


def speedups(timings: pd.DataFrame, weights_mb: float | None = None) -> pd.DataFrame:
    """The timings with `speedup`: the full cache's decode ms per token over the row's, at the same context; with
    `weights_mb`, also `ceiling`: the speed-up if a decoded token cost only reading the weights and the cache once,
    (weights + full cache) / (weights + this cache), the bound a memory-bound decoder can reach by pressing."""
    timed = timings.assign(speedup=timings["full_decode_ms"] / timings["decode_ms"])
    if weights_mb is None:
        return timed
    full_mb = timed.groupby("context_tokens")["cache_mb"].transform("max")   # the full cache holds the most
    return timed.assign(ceiling=byte_ceiling(weights_mb, full_mb, timed["cache_mb"]))


def byte_ceiling(weights_mb, full_mb, pressed_mb):
    """The speed-up a memory-bound decoder can reach by pressing: (weights + full cache) / (weights + pressed cache),
    the bytes a decoding step reads with each. Numbers or pandas Series; caches summed over the batch."""
    return (weights_mb + full_mb) / (weights_mb + pressed_mb)


def token_categories(texts: list[str], offsets: list[list[tuple[int, int]]], annotations: list[Annotation],
                     bands: FrequencyBands) -> list[pd.DataFrame]:
    """Per prompt, one row per context token inside the text (offset (0, 0), the chat template's, left out): position
    and the facets of the spaCy word holding its first character (pos, entity, is_stop, is_punct, frequency); tokens
    in no word (spaces) are left out too."""
    frames = []
    for text, spans, words in zip(texts, offsets, annotations):
        spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        inside = np.flatnonzero(spans[:, 1] > 0)
        word = align_tokens(spans[inside, 0], words.starts, words.ends)
        at, index = inside[word >= 0], word[word >= 0]
        frames.append(pd.DataFrame({
            "position": at, "pos": [words.pos[i] for i in index], "entity": [words.entity[i] for i in index],
            "is_stop": [words.is_stop[i] for i in index], "is_punct": [words.is_punct[i] for i in index],
            "frequency": [bands.band(words.words[i]) for i in index]}))
    return frames


def retention_rows(tokens: pd.DataFrame) -> pd.DataFrame:
    """Per press, budget, facet and category: context tokens (total) and their kept shares summed (kept).

    tokens: press, budget, kept_share and the facet columns of token_categories (one row per token and press)."""
    columns = ["press", "budget", "facet", "category", "total", "kept"]
    if tokens.empty:
        return pd.DataFrame(columns=columns)
    frames = []
    for facet in FACET_COLUMNS:
        grouped = tokens.assign(category=facet_categories(tokens, facet)).groupby(["press", "budget", "category"])
        frame = grouped["kept_share"].agg(total="size", kept="sum").reset_index()
        frames.append(frame.assign(facet=facet))
    return pd.concat(frames, ignore_index=True)[columns]


KEPT_KINDS = ("NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "PUNCT")   # the parts of speech a summary shows


def kept_by_kind(retention: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """Per press (rows, at the stored tokens' budget): the kept share of the review's tokens of each part of speech in
    KEPT_KINDS, of stopwords, and of the chat template's tokens (outside the review, where attention sinks sit),
    averaged over layers and key-value heads."""
    pos = retention[retention["facet"] == "pos"]
    table = (pos.groupby(["press", "category"])[["kept", "total"]].sum()
             .pipe(lambda frame: frame["kept"] / frame["total"]).unstack("category"))
    table = table.reindex(columns=[kind for kind in KEPT_KINDS if kind in table.columns])
    stop = retention[(retention["facet"] == "stopword") & (retention["category"] == "stopword")]
    if len(stop):
        table["stopwords"] = stop.groupby("press")["kept"].sum() / stop.groupby("press")["total"].sum()
    template = tokens[tokens["char_end"] == 0]
    if len(template):
        table["chat template"] = template.groupby("press")["kept_share"].mean()
    return table
