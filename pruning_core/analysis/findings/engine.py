"""The claim engine: a claim's rule and measure, bootstrap intervals over a run's examples, Holm–Bonferroni.

A claim (`Claim`) names what it says, the statistic that tests it and the rule that turns the statistic's interval
into a verdict. Its `measure` says how the statistic is computed from a sample of the run's examples, given as how
often each example is drawn (all ones: the run itself). Resampling the examples with replacement (`resample_counts`,
one seed, the same resamples for every claim of a run) and recomputing the statistic on each resample gives its
bootstrap distribution, so an interval is over examples, the trace's unit of sampling, whatever the statistic
counts (words, distances).

A run checks many claims at once, so its verdicts come from intervals corrected for multiple comparisons:
Holm–Bonferroni over the claims of the run that have data (family-wise error 5%). Each claim gets a bootstrap
p-value for its rule (the smallest level at which its interval is decisive), Holm's step-down gives the level each
claim is tested at, and the claim's corrected interval is the percentile interval at that level. The raw 95%
interval is shown beside it; the verdict is the corrected interval's.

The engine knows no particular claim: the measures are in `measures`, the study's claims in `claims`, and
`registry.evaluate_claims` checks the study's and the registered ones by default.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .data import MissingData, RunData

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NO_DATA = "supported", "not supported", "inconclusive", "no data"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NO_DATA)
RESAMPLES = 2_000
CONFIDENCE = 0.95                 # the raw intervals'
FAMILY_ERROR = 0.05               # Holm–Bonferroni's family-wise error over a run's claims
CORRECTION = "Holm–Bonferroni"
RESAMPLE_CHUNK = 500_000          # drawn examples held at once (resamples x examples)
TABLE_COLUMNS = ["run_id", "dataset", "key", "group", "claim", "statistic", "value", "low", "high", "raw_verdict",
                 "p_value", "corrected_confidence", "corrected_low", "corrected_high", "verdict", "correction",
                 "supported_when", "rule", "note"]
PART_COLUMNS = ["run_id", "key", "part", "measure", "value", "low", "high"]


# ------------------------------------------------------------------------------------------------ rules
# A rule's verdict reads an interval; its p_value reads the resamples (1-D, without NaN): the smallest level a at
# which the (1 - a) interval of `interval` gives a verdict other than inconclusive. The two agree exactly: the
# interval's bounds are order statistics, so it excludes a bound t exactly when fewer than a/2 of the resamples
# lie on its side of t.

def _two_sided(samples: np.ndarray, threshold: float) -> float:
    """Twice the smaller share of resamples on either side of the threshold (at most 1)."""
    return min(1.0, 2 * min(_share(samples <= threshold), _share(samples >= threshold)))


def _share(decided: np.ndarray) -> float:
    return float(decided.mean()) if len(decided) else float("nan")


@dataclass(frozen=True)
class Above:
    """Supported when the whole interval lies above the threshold, not supported when it lies below it."""

    threshold: float

    def verdict(self, low: float, high: float) -> str:
        return SUPPORTED if low > self.threshold else NOT_SUPPORTED if high < self.threshold else INCONCLUSIVE

    def p_value(self, samples: np.ndarray) -> float:
        return _two_sided(samples, self.threshold)

    @property
    def short(self) -> str:
        return f"interval above {self.threshold:g}"

    def describe(self) -> str:
        return (f"supported when the whole interval lies above {self.threshold:g}, not supported when it lies "
                f"below {self.threshold:g}, inconclusive when it contains {self.threshold:g}")


@dataclass(frozen=True)
class Below:
    """Supported when the whole interval lies below the threshold, not supported when it lies above it."""

    threshold: float

    def verdict(self, low: float, high: float) -> str:
        return SUPPORTED if high < self.threshold else NOT_SUPPORTED if low > self.threshold else INCONCLUSIVE

    def p_value(self, samples: np.ndarray) -> float:
        return _two_sided(samples, self.threshold)

    @property
    def short(self) -> str:
        return f"interval below {self.threshold:g}"

    def describe(self) -> str:
        return (f"supported when the whole interval lies below {self.threshold:g}, not supported when it lies "
                f"above {self.threshold:g}, inconclusive when it contains {self.threshold:g}")


@dataclass(frozen=True)
class Inside:
    """Supported when the whole interval lies strictly between low and high, not supported when it lies wholly
    outside that range."""

    low: float
    high: float

    def verdict(self, low: float, high: float) -> str:
        if self.low < low and high < self.high:
            return SUPPORTED
        return NOT_SUPPORTED if high <= self.low or low >= self.high else INCONCLUSIVE

    def p_value(self, samples: np.ndarray) -> float:
        """The smallest level deciding either way: inside needs both bounds cleared (twice the larger share beyond
        them), outside needs one (twice the share on the inner side of either bound); at most 1."""
        inside = max(_share(samples <= self.low), _share(samples >= self.high))
        outside = min(_share(samples > self.low), _share(samples < self.high))
        return min(1.0, 2 * min(inside, outside))

    @property
    def short(self) -> str:
        return f"interval inside ({self.low:g}, {self.high:g})"

    def describe(self) -> str:
        return (f"supported when the whole interval lies between {self.low:g} and {self.high:g}, not supported "
                f"when it lies wholly outside that range, inconclusive otherwise")


Rule = Above | Below | Inside


# ------------------------------------------------------------------------------------------------ claims

Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Measure:
    """How a claim's values come from a sample of the run's examples: `of` maps counts (b, n), how often each
    example is drawn in each of b samples, to values (b, 1 + len(parts)): the statistic first, then the parts a
    chart shows (each with its own interval). Counts of all ones give the run's own values."""

    of: Statistic
    parts: tuple[str, ...] = ()
    part_label: str = ""     # what the parts measure, for a chart's axis
    note: str = ""


@dataclass(frozen=True)
class Claim:
    """One checkable sentence: what it says, the statistic that tests it and the rule for the verdict."""

    key: str
    group: str
    text: str
    statistic: str
    rule: Rule
    measure: Callable[[RunData], Measure]
    datasets: tuple[str, ...] = ()     # the datasets it is about; empty: any

    def applies_to(self, dataset: str) -> bool:
        return not self.datasets or dataset in self.datasets

    @property
    def rule_text(self) -> str:
        return f"{self.statistic[0].upper()}{self.statistic[1:]}: {self.rule.describe()}."

# ------------------------------------------------------------------------------------------------ checking

class Findings(NamedTuple):
    table: pd.DataFrame    # one row per claim: TABLE_COLUMNS
    parts: pd.DataFrame    # one row per claim and part (what a chart shows): PART_COLUMNS


def resample_counts(n: int, resamples: int = RESAMPLES, seed: int = 0) -> Iterator[np.ndarray]:
    """Bootstrap resamples of n examples drawn with replacement, each as how often every example is drawn: float
    chunks (b, n), `resamples` rows in all, a fixed number of rows per chunk; the same seed, the same resamples."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}.")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples!r}.")
    rng = np.random.default_rng(seed)
    rows = max(1, RESAMPLE_CHUNK // n)
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        drawn = rng.integers(0, n, (count, n)) + n * np.arange(count)[:, None]     # (b, n) into a flat (b * n)
        yield np.bincount(drawn.ravel(), minlength=count * n).reshape(count, n).astype(float)


def _rank(defined: np.ndarray, alpha: float) -> np.ndarray:
    """(k,) the smallest j >= 1 with 2 * (j / B) >= alpha, B the defined resamples of each column: a bound at the
    j-th order statistic excludes t exactly when 2 * share < alpha, the rules' p-value test, in the same
    floating-point arithmetic (so a p-value equal to its level reads the same way in both)."""
    size = np.maximum(defined, 1).astype(float)
    j = np.maximum(np.ceil(alpha * size / 2), 1)
    j = np.where((j > 1) & (2 * ((j - 1) / size) >= alpha), j - 1, j)
    return np.where(2 * (j / size) < alpha, j + 1, j).astype(int)


def interval(samples: np.ndarray, alpha: float = 1 - CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """The (1 - alpha) percentile interval of each column of samples (resamples, k), leaving out resamples where
    a column is undefined (NaN: a class drawn without a single word to count); an infinite value ranks beyond every
    finite one. Its bounds are order statistics, the j-th smallest and j-th largest defined resample (j about
    alpha / 2 of them, `_rank`), so it excludes a value t exactly when fewer than alpha / 2 of the resamples lie on
    t's side of it: the duality the rules' p-values rest on."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2:
        raise ValueError(f"samples must be (resamples, k), got shape {samples.shape}.")
    ordered = np.sort(samples, axis=0)                        # NaN last
    defined = (~np.isnan(samples)).sum(axis=0)                 # (k,)
    j = _rank(defined, alpha)
    low = np.take_along_axis(ordered, np.clip(j - 1, 0, len(ordered) - 1)[None], axis=0)[0]
    high = np.take_along_axis(ordered, np.clip(defined - j, 0, len(ordered) - 1)[None], axis=0)[0]
    empty = defined == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def holm_levels(p_values: Sequence[float], alpha: float = FAMILY_ERROR) -> np.ndarray:
    """Holm's step-down at family-wise error alpha: the level each of m hypotheses is tested at. The k-th smallest
    p (k = 1..m) is tested at alpha / (m - k + 1) and rejected when below it; from the first one not rejected on,
    every remaining one is tested at that step's level (and none of them is rejected)."""
    p = np.asarray(p_values, dtype=float)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}.")
    if p.ndim != 1 or np.isnan(p).any():
        raise ValueError(f"p_values must be a 1-D sequence without NaN, got {p_values!r}.")
    order = np.argsort(p, kind="stable")
    levels = np.empty(len(p))
    for step, index in enumerate(order):
        levels[order[step:]] = alpha / (len(p) - step)
        if not p[index] < levels[index]:
            break
    return levels


def correction_text(claims: int) -> str:
    """'Holm–Bonferroni over the 13 claims of the run', the name every table and page gives the correction."""
    return f"{CORRECTION} over the {claims} claim{'s' if claims != 1 else ''} of the run"


def _samples(measured: dict[str, Measure], n: int, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """Each measure's values on the same bootstrap resamples of the n examples: (resamples, 1 + parts) by key."""
    drawn: dict[str, list[np.ndarray]] = {key: [] for key in measured}
    for counts in resample_counts(n, resamples, seed):
        for key, m in measured.items():
            drawn[key].append(m.of(counts))
    return {key: np.concatenate(chunks) for key, chunks in drawn.items()}


def _row(data: RunData, claim: Claim) -> dict:
    """A claim's table row before it is measured: no value, no data."""
    return {"run_id": data.run_id, "dataset": data.dataset, "key": claim.key, "group": claim.group,
            "claim": claim.text, "statistic": claim.statistic, "value": np.nan, "low": np.nan, "high": np.nan,
            "raw_verdict": NO_DATA, "p_value": np.nan, "corrected_confidence": np.nan, "corrected_low": np.nan,
            "corrected_high": np.nan, "verdict": NO_DATA, "correction": "", "supported_when": claim.rule.short,
            "rule": claim.rule_text, "note": ""}


def evaluate(data: RunData, claims: Sequence[Claim], resamples: int = RESAMPLES, seed: int = 0) -> Findings:
    """Every claim that applies to the run's dataset: its statistic, raw 95% bootstrap interval over the examples
    (the same `resamples` seeded resamples for every claim, each statistic recomputed on each), p-value, corrected
    interval (Holm–Bonferroni over the claims that have data, family-wise error 5%) and the verdicts of both
    intervals, `verdict` being the corrected one's; a claim the run cannot measure gets the verdict "no data" and a
    note saying why."""
    applicable = [claim for claim in claims if claim.applies_to(data.dataset)]
    keys = [claim.key for claim in applicable]
    if len(set(keys)) < len(keys):
        raise ValueError(f"Claims need distinct keys; repeated: {sorted({k for k in keys if keys.count(k) > 1})}")
    rows = {claim.key: _row(data, claim) for claim in applicable}
    measured: dict[str, Measure] = {}
    for claim in applicable:
        try:
            measured[claim.key] = claim.measure(data)
        except MissingData as missing:
            rows[claim.key]["note"] = str(missing)
    drawn = _samples(measured, data.n, resamples, seed) if measured and data.n else {}
    parts, statistics = [], {}
    for claim in applicable:
        if claim.key not in drawn:
            continue
        m, row = measured[claim.key], rows[claim.key]
        values = m.of(np.ones((1, data.n)))[0]                  # the run itself: every example drawn once
        low, high = interval(drawn[claim.key])
        row.update(value=float(values[0]), low=float(low[0]), high=float(high[0]), note=m.note)
        if np.isnan([values[0], low[0], high[0]]).any():
            row["note"] = "; ".join(filter(None, ["the statistic is undefined on this run (nothing to count)",
                                                  m.note]))
        else:
            statistic = drawn[claim.key][:, 0]
            statistics[claim.key] = statistic[~np.isnan(statistic)]
            row.update(raw_verdict=claim.rule.verdict(row["low"], row["high"]),
                       p_value=claim.rule.p_value(statistics[claim.key]))
        parts += [{"run_id": data.run_id, "key": claim.key, "part": name, "measure": m.part_label,
                   "value": float(v), "low": float(lo), "high": float(hi)}
                  for name, v, lo, hi in zip(m.parts, values[1:], low[1:], high[1:])]
    rules = {claim.key: claim.rule for claim in applicable}
    family = list(statistics)
    for key, level in zip(family, holm_levels([rows[key]["p_value"] for key in family])):
        (low,), (high,) = interval(statistics[key][:, None], level)
        rows[key].update(corrected_confidence=1 - level, corrected_low=float(low), corrected_high=float(high),
                         verdict=rules[key].verdict(float(low), float(high)))
    for row in rows.values():
        row["correction"] = correction_text(len(family))
    return Findings(pd.DataFrame(list(rows.values()), columns=TABLE_COLUMNS),
                    pd.DataFrame(parts, columns=PART_COLUMNS))
