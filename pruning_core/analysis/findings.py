"""The study's findings as claims a run can support or not, each with a statistic, intervals and a verdict.

A claim (`Claim`) names what it says, the statistic that tests it and the rule that turns the statistic's interval
into a verdict. Its `measure` says how the statistic is computed from a sample of the run's examples, given as how
often each example is drawn (all ones: the run itself). Resampling the examples with replacement (`resample_counts`,
one seed, the same resamples for every claim of a run) and recomputing the statistic on each resample gives its
bootstrap distribution, so an interval is over examples, the trace's unit of sampling, whatever the statistic
counts (words, distances). Statistics of per-example sums (shares, rates) are sums of weighted columns (`summed`);
the cluster statistics (silhouettes, distances to class centroids) are recomputed from the drawn texts.

A run checks many claims at once, so its verdicts come from intervals corrected for multiple comparisons:
Holm–Bonferroni over the claims of the run that have data (family-wise error 5%). Each claim gets a bootstrap
p-value for its rule (the smallest level at which its interval is decisive), Holm's step-down gives the level each
claim is tested at, and the claim's corrected interval is the percentile interval at that level. The raw 95%
interval is shown beside it; the verdict is the corrected interval's.

A word counts as retained (kept, reaching the classifier) when the classifier read it: alive on entry to the last
layer (`pruning_core.trace.reached_classifier`); what the last layer itself drops cannot change the prediction.

To check a claim of your own, append a Claim to CLAIMS (or pass your own list to `check`), for instance

    CLAIMS.append(Claim("mine.noun_world", "My claims", "World keeps more nouns than Sports",
                        "NOUN's share of the retained words: World's minus Sports'", Above(0.0),
                        pos_contrast("NOUN", higher=("World",), lower=("Sports",)), datasets=("ag_news",)))

and the Findings page and `python -m pipelines.findings` show it beside the study's.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .. import storage as store
from ..trace import reached_classifier
from .keywords import STUDY_KEYWORDS

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NO_DATA = "supported", "not supported", "inconclusive", "no data"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NO_DATA)
RESAMPLES = 2_000
CONFIDENCE = 0.95                 # the raw intervals'
FAMILY_ERROR = 0.05               # Holm–Bonferroni's family-wise error over a run's claims
CORRECTION = "Holm–Bonferroni"
RESAMPLE_CHUNK = 500_000          # drawn examples held at once (resamples x examples)
NOT_WORDS = frozenset({"PUNCT", "SYM", "SPACE", "X"})   # spaCy tags that are no part of speech of a word
TABLE_COLUMNS = ["run_id", "dataset", "key", "group", "claim", "statistic", "value", "low", "high", "raw_verdict",
                 "p_value", "corrected_confidence", "corrected_low", "corrected_high", "verdict", "correction",
                 "supported_when", "rule", "note"]
PART_COLUMNS = ["run_id", "key", "part", "measure", "value", "low", "high"]


class MissingData(ValueError):
    """The run lacks what a claim measures (a class, annotated words, stored representations)."""


# ------------------------------------------------------------------------------------------------ the data

@dataclass(frozen=True)
class RunData:
    """What the claims read from one analysed run. Rows of `examples` are the bootstrap's units."""

    run_id: str
    dataset: str
    label_names: list[str]
    num_layers: int
    examples: pd.DataFrame          # example_id, label, prediction (sorted by example_id)
    words: pd.DataFrame             # spaCy words: row (into examples), word, pos, is_stop, is_punct, kept (the
                                    # classifier read it: reached_classifier), bare (the word without surrounding
                                    # punctuation), has_letter
    vectors: np.ndarray | None = None       # (m, D) retained-token representation of the embedded examples
    vector_rows: np.ndarray | None = None   # (m,) their rows in examples

    @property
    def n(self) -> int:
        return len(self.examples)

    def class_index(self, name: str) -> int:
        if name not in self.label_names:
            raise MissingData(f"no class named {name!r} in this run (its classes: {', '.join(self.label_names)})")
        return self.label_names.index(name)


def run_data(info: dict, examples: pd.DataFrame, words: pd.DataFrame,
             representations: pd.DataFrame | None = None) -> RunData:
    """RunData from the store's frames: a run's info (store.run_info), its examples (example_id, label, prediction),
    its analysed words (store.analysed_words) and representations (store.representations; may be empty)."""
    examples = examples[["example_id", "label", "prediction"]].sort_values("example_id", ignore_index=True)
    row_of = pd.Series(np.arange(len(examples)), index=examples["example_id"].to_numpy())
    words = words[words["example_id"].isin(row_of.index)]
    frame = pd.DataFrame({"row": row_of.loc[words["example_id"].to_numpy()].to_numpy(),
                          "word": words["word"].astype(str).to_numpy(), "pos": words["pos"].astype(str).to_numpy(),
                          "is_stop": words["is_stop"].to_numpy(bool), "is_punct": words["is_punct"].to_numpy(bool),
                          "kept": reached_classifier(words["drop_layer"].to_numpy(), int(info["num_layers"]))})
    frame["bare"] = frame["word"].str.strip(string.punctuation)       # "inc." -> "inc", for matching word lists
    frame["has_letter"] = frame["word"].str.contains("[a-z]", regex=True)
    vectors = rows = None
    if representations is not None and len(representations):
        known = representations[representations["example_id"].isin(row_of.index)]
        vectors = np.stack([np.asarray(v, dtype=np.float64) for v in known["vector"]])
        rows = row_of.loc[known["example_id"].to_numpy()].to_numpy()
    return RunData(info["run_id"], info["dataset"], list(info["label_names"]), int(info["num_layers"]), examples,
                   frame, vectors, rows)


def load_run(run_id: str, db: str | Path | None = None) -> RunData:
    """RunData of a stored run; store.RunNotFound when there is no such run or it has not been analysed."""
    info = store.run_info(run_id, db)
    words = store.analysed_words(run_id, db)
    examples = store.examples(run_id, limit=max(int(info["n_examples"] or 0), 1), db=db)
    return run_data(info, examples, words, store.representations(run_id, db))


# ------------------------------------------------------------------------------------------------ rules
# A rule's verdict reads an interval; its p_value reads the resamples (1-D, without NaN): the smallest level a at
# which the (1 - a) interval of `interval` gives a verdict other than inconclusive. The two agree exactly: the
# interval's bounds are order statistics, so it excludes a bound t exactly when fewer than a/2 of the resamples
# lie on its side of t.

def _share(decided: np.ndarray) -> float:
    return float(decided.mean()) if len(decided) else float("nan")


@dataclass(frozen=True)
class Above:
    """Supported when the whole interval lies above the threshold, not supported when it lies below it."""

    threshold: float

    def verdict(self, low: float, high: float) -> str:
        return SUPPORTED if low > self.threshold else NOT_SUPPORTED if high < self.threshold else INCONCLUSIVE

    def p_value(self, samples: np.ndarray) -> float:
        """Twice the smaller share of resamples on either side of the threshold (at most 1)."""
        return min(1.0, 2 * min(_share(samples <= self.threshold), _share(samples >= self.threshold)))

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
        """Twice the smaller share of resamples on either side of the threshold (at most 1)."""
        return min(1.0, 2 * min(_share(samples <= self.threshold), _share(samples >= self.threshold)))

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


def summed(columns: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]) -> Statistic:
    """A statistic of per-example sums: columns (n, k), summed with each sample's counts into (b, k), then reduced
    to values (b, 1 + parts)."""
    return lambda counts: reduce(counts @ columns)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator: infinite where only the denominator is 0 (a rate of content words over a rate of
    0), NaN where both are (nothing to count) or either is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                        np.where((numerator > 0) & (denominator == 0), np.inf, np.nan))


def per_example(data: RunData, mask: np.ndarray) -> np.ndarray:
    """(n,) how many of the words selected by mask each example holds."""
    return np.bincount(data.words["row"].to_numpy()[mask], minlength=data.n).astype(float)


def class_mask(data: RunData, name: str) -> np.ndarray:
    """(n,) float: 1 for examples whose true class is `name`."""
    return (data.examples["label"].to_numpy() == data.class_index(name)).astype(float)


def retained_word_mask(data: RunData) -> np.ndarray:
    """Words that reached the classifier and are words (no punctuation or symbols)."""
    words = data.words
    return words["kept"].to_numpy() & ~words["is_punct"].to_numpy() & ~words["pos"].isin(NOT_WORDS).to_numpy()


def pos_columns(data: RunData, tags: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """(n, C * (T + 1)): per class, its examples' retained words of each tag, then all their retained words."""
    retained = retained_word_mask(data)
    pos = data.words["pos"].to_numpy()
    counts = [per_example(data, retained & (pos == tag)) for tag in tags] + [per_example(data, retained)]
    return np.concatenate([np.stack(counts, axis=1) * class_mask(data, name)[:, None] for name in classes], axis=1)


def _shares(sums: np.ndarray, classes: int) -> np.ndarray:
    """(..., C * (T + 1)) sums from pos_columns -> (..., C, T) shares of each tag among a class's retained words."""
    grouped = sums.reshape(*sums.shape[:-1], classes, -1)
    return _divide(grouped[..., :-1], grouped[..., -1:])


def largest_pos(tag: str) -> Callable[[RunData], Measure]:
    """Tag's share of the retained words minus the largest other part of speech's, in the class where that gap
    is smallest; the parts are tag's share in each class."""
    def measure(data: RunData) -> Measure:
        retained = retained_word_mask(data)
        tags = sorted(set(data.words["pos"].to_numpy()[retained]) | {tag})
        at, classes = tags.index(tag), data.label_names

        def reduce(sums: np.ndarray) -> np.ndarray:
            shares = _shares(sums, len(classes))
            others = np.delete(shares, at, axis=-1)
            gap = shares[..., at] - (np.max(others, axis=-1) if others.shape[-1] else 0.0)
            return np.concatenate([np.min(gap, axis=-1, keepdims=True), shares[..., at]], axis=-1)

        columns = pos_columns(data, tags, classes)
        order = np.argsort(-np.nan_to_num(_shares(columns.sum(axis=0), len(classes)), nan=-1.0), axis=-1,
                           kind="stable")
        runner_up = [next((tags[i] for i in row if i != at), "none") for row in order]
        note = "next largest: " + ", ".join(f"{name} {other}" for name, other in zip(classes, runner_up))
        return Measure(summed(columns, reduce), tuple(classes), f"{tag}'s share of retained words", note)
    return measure


def pos_contrast(tag: str, higher: Sequence[str], lower: Sequence[str]) -> Callable[[RunData], Measure]:
    """Tag's share of the retained words: its smallest over the `higher` classes minus its largest over the `lower`
    ones (above 0: higher in every one of them); the parts are its share in each class."""
    def measure(data: RunData) -> Measure:
        classes = list(dict.fromkeys([*higher, *lower]))
        up = [classes.index(name) for name in higher]
        down = [classes.index(name) for name in lower]

        def reduce(sums: np.ndarray) -> np.ndarray:
            shares = _shares(sums, len(classes))[..., 0]
            gap = np.min(shares[..., up], axis=-1) - np.max(shares[..., down], axis=-1)
            return np.concatenate([gap[..., None], shares], axis=-1)
        return Measure(summed(pos_columns(data, [tag], classes), reduce), tuple(classes),
                       f"{tag}'s share of retained words")
    return measure


def pos_spread(tag: str) -> Callable[[RunData], Measure]:
    """Tag's largest share of the retained words over the classes divided by its smallest (1: the same in all)."""
    def measure(data: RunData) -> Measure:
        classes = data.label_names

        def reduce(sums: np.ndarray) -> np.ndarray:
            shares = _shares(sums, len(classes))[..., 0]
            ratio = _divide(np.max(shares, axis=-1), np.min(shares, axis=-1))
            return np.concatenate([ratio[..., None], shares], axis=-1)
        return Measure(summed(pos_columns(data, [tag], classes), reduce), tuple(classes),
                       f"{tag}'s share of retained words")
    return measure


def pos_pair(first: str, second: str, class_name: str) -> Callable[[RunData], Measure]:
    """In one class, first's share of the retained words minus second's; the parts are both shares."""
    def measure(data: RunData) -> Measure:
        def reduce(sums: np.ndarray) -> np.ndarray:
            shares = _shares(sums, 1)[..., 0, :]
            return np.concatenate([shares[..., :1] - shares[..., 1:], shares], axis=-1)
        return Measure(summed(pos_columns(data, [first, second], [class_name]), reduce), (first, second),
                       f"share of retained words in {class_name}")
    return measure


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def keyword_lift(keywords: Sequence[str], class_name: str | None = None,
                 true_positives: str | None = None) -> Callable[[RunData], Measure]:
    """In the texts of a class (or its true positives), the share of the listed words' occurrences that reach the
    classifier divided by the same share for all content words (the listed ones included): above 1, pruning
    keeps them more readily than the typical content word, so they make up more of what the classifier reads
    than of the text. Parts: both shares."""
    wanted = frozenset(word.lower() for word in keywords)

    def measure(data: RunData) -> Measure:
        name = class_name or true_positives
        texts = class_mask(data, name)
        if true_positives is not None:
            texts = texts * (data.examples["prediction"].to_numpy() == data.class_index(name))
        words = data.words
        listed = words["bare"].isin(wanted).to_numpy()
        content = listed | (~words["is_stop"].to_numpy() & ~words["is_punct"].to_numpy()
                            & words["has_letter"].to_numpy())
        kept = words["kept"].to_numpy()
        columns = np.stack([per_example(data, listed & kept), per_example(data, listed),
                            per_example(data, content & kept), per_example(data, content)], axis=1) * texts[:, None]

        def reduce(sums: np.ndarray) -> np.ndarray:
            listed_rate = _divide(sums[..., 0], sums[..., 1])
            content_rate = _divide(sums[..., 2], sums[..., 3])
            return np.stack([_divide(listed_rate, content_rate), listed_rate, content_rate], axis=-1)
        found = set(words["bare"].to_numpy()[listed & (texts[words["row"].to_numpy()] > 0)])
        missing = sorted(wanted - found)
        totals = columns.sum(axis=0)
        note = (f"they are {_percent(totals[0], totals[2])} of the content words reaching the classifier in these "
                f"texts and {_percent(totals[1], totals[3])} of their content words"
                + (f"; not in these texts: {', '.join(missing)}" if missing else ""))
        return Measure(summed(columns, reduce), ("listed words", "all content words"),
                       "share of occurrences read by the classifier", note)
    return measure


def kept_rate_ratio(kind: str) -> Callable[[RunData], Measure]:
    """The share of content words (neither stopword nor punctuation) that reach the classifier divided by the share
    of `kind` words ("stopword" or "punctuation") that do; the parts are both shares."""
    def measure(data: RunData) -> Measure:
        words = data.words
        stop, punct, kept = words["is_stop"].to_numpy(), words["is_punct"].to_numpy(), words["kept"].to_numpy()
        content = ~stop & ~punct
        other = punct if kind == "punctuation" else stop & ~punct
        columns = np.stack([per_example(data, content & kept), per_example(data, content),
                            per_example(data, other & kept), per_example(data, other)], axis=1)

        def reduce(sums: np.ndarray) -> np.ndarray:
            content_rate, other_rate = _divide(sums[..., 0], sums[..., 1]), _divide(sums[..., 2], sums[..., 3])
            return np.stack([_divide(content_rate, other_rate), content_rate, other_rate], axis=-1)
        return Measure(summed(columns, reduce), ("content words", kind), "share of words read by the classifier")
    return measure


def _embedded(data: RunData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored vectors, their rows and true classes; MissingData when there are none to measure."""
    if data.vectors is None or len(data.vectors) < 4:
        raise MissingData(f"no stored representations for this run: python -m pipelines.analyze --run {data.run_id} "
                          "--representations-only")
    labels = data.examples["label"].to_numpy()[data.vector_rows]
    if len(np.unique(labels)) < 2:
        raise MissingData("the embedded examples hold fewer than two classes")
    return data.vectors, data.vector_rows, labels


def _class_sizes(counts: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """(b, C) how many of each sample's drawn examples belong to each class; counts (b, m), labels (m,)."""
    return np.stack([counts[:, labels == c].sum(axis=1) for c in range(classes)], axis=1)


def resampled_silhouettes(distances: np.ndarray, labels: np.ndarray, counts: np.ndarray, classes: int) -> np.ndarray:
    """(b, m) each example's silhouette by true class within each sample, from the distances (m, m) between the
    distinct examples and counts (b, m), how often each is drawn. (b - a) / max(a, b): a the mean distance to the
    drawn members of its class that are other texts, b to the drawn members of the nearest other class; 0 when no
    other text of its class is drawn; NaN throughout a sample holding fewer than two classes. An example's own
    copies are left out of a, as the example itself is (with all counts 1 this is sklearn's silhouette_samples):
    counting them would put distances of 0 into a and pull every resample's silhouettes up. Values of examples
    not drawn are computed too, and weigh nothing."""
    samples, m = counts.shape
    total = np.empty((samples, m, classes))         # summed distance to the drawn members of each class
    for c in range(classes):
        members = labels == c
        total[:, :, c] = counts[:, members] @ distances[members]         # (b, m_c) @ (m_c, m)
    sizes = _class_sizes(counts, labels, classes)                         # (b, C)
    others = sizes[:, labels] - counts                                    # (b, m) other texts of its class drawn
    every = np.arange(m)
    own = total[:, every, labels] / np.maximum(others, 1)                 # (b, m): a
    with np.errstate(divide="ignore", invalid="ignore"):
        to_class = total / sizes[:, None, :]                              # (b, m, C)
    to_class[np.broadcast_to(sizes[:, None, :] == 0, to_class.shape)] = np.inf
    to_class[:, every, labels] = np.inf
    nearest = to_class.min(axis=-1)                                       # (b, m): b
    larger = np.maximum(own, nearest)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where((others > 0) & (larger > 0), (nearest - own) / larger, 0.0)
    values[(sizes > 0).sum(axis=1) < 2] = np.nan
    return values


def resampled_centroid_distances(vectors: np.ndarray, labels: np.ndarray, counts: np.ndarray,
                                 classes: int) -> np.ndarray:
    """(b, C) the mean Euclidean distance of each class's drawn examples to the centroid of its drawn examples,
    in each sample (NaN for a class not drawn); vectors (m, D), counts (b, m)."""
    centred = vectors - vectors.mean(axis=0)        # small norms keep |x|^2 - 2 x.mu + |mu|^2 precise
    sizes = _class_sizes(counts, labels, classes)
    means = np.full(sizes.shape, np.nan)
    for c in range(classes):
        members, drawn = centred[labels == c], counts[:, labels == c]            # (m_c, D), (b, m_c)
        if not len(members):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            centroids = (drawn @ members) / sizes[:, c:c + 1]                    # (b, D)
            squared = ((members ** 2).sum(axis=1)[None] - 2 * centroids @ members.T
                       + (centroids ** 2).sum(axis=1)[:, None])                   # (b, m_c)
            means[:, c] = (drawn * np.sqrt(np.clip(squared, 0, None))).sum(axis=1) / sizes[:, c]
    return means


def spread_ratio(spread: str, dense: str) -> Callable[[RunData], Measure]:
    """Mean Euclidean distance of the `spread` class's embedded examples to their class centroid divided by the
    `dense` class's (above 1: `dense` is the tighter class). Each resample recomputes the centroids and distances
    from the examples it draws."""
    def measure(data: RunData) -> Measure:
        vectors, rows, labels = _embedded(data)
        first, second, classes = data.class_index(spread), data.class_index(dense), len(data.label_names)

        def of(counts: np.ndarray) -> np.ndarray:
            means = resampled_centroid_distances(vectors, labels, counts[:, rows], classes)
            return np.stack([_divide(means[:, first], means[:, second]), means[:, first], means[:, second]], axis=-1)
        return Measure(of, (spread, dense), "mean distance to the class centroid",
                       f"{len(vectors):,} embedded examples")
    return measure


def _silhouette_measure(data: RunData, summarise: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                        label: str) -> Measure:
    """A statistic of the silhouettes, recomputed on each resample from the embedded examples it draws:
    summarise(silhouettes (b, m), counts (b, m), one-hot classes (m, C)) -> values (b, 1 + C)."""
    from sklearn.metrics import pairwise_distances
    vectors, rows, labels = _embedded(data)
    classes = len(data.label_names)
    distances = pairwise_distances(vectors, metric="euclidean")      # (m, m), once per run
    one_hot = np.eye(classes)[labels]

    def of(counts: np.ndarray) -> np.ndarray:
        drawn = counts[:, rows]
        return summarise(resampled_silhouettes(distances, labels, drawn, classes), drawn, one_hot)
    return Measure(of, tuple(data.label_names), label, f"{len(vectors):,} embedded examples")


def _weighted_means(values: np.ndarray, counts: np.ndarray, one_hot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means of values (b, m) over each sample's drawn examples: all of them (b,) and per class (b, C)."""
    weighted = values * counts
    return (_divide(weighted.sum(axis=1), counts.sum(axis=1)), _divide(weighted @ one_hot, counts @ one_hot))


def silhouette(every_class: bool = False) -> Callable[[RunData], Measure]:
    """Mean silhouette of the embedded examples by true class: over all of them, or (every_class) the smallest of
    the classes' means; the parts are each class's mean. Each resample recomputes the silhouettes of the examples
    it draws."""
    def summarise(values: np.ndarray, counts: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
        overall, means = _weighted_means(values, counts, one_hot)
        statistic = np.min(means, axis=-1) if every_class else overall
        return np.concatenate([statistic[:, None], means], axis=-1)
    return lambda data: _silhouette_measure(data, summarise, "mean silhouette")


def overlap_share() -> Callable[[RunData], Measure]:
    """Share of the embedded examples with a negative silhouette (nearer, on average, another class than their
    own); the parts are that share in each class. Each resample recomputes the silhouettes of the examples it
    draws."""
    def summarise(values: np.ndarray, counts: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
        overall, means = _weighted_means(np.where(np.isnan(values), np.nan, values < 0), counts, one_hot)
        return np.concatenate([overall[:, None], means], axis=-1)
    return lambda data: _silhouette_measure(data, summarise, "share nearer another class")


AG_NEWS, IMDB = ("ag_news",), ("imdb",)
POS_GROUP = "AG News: parts of speech of the retained words"
VOCABULARY_GROUP = "AG News: retained vocabulary per class"
IMDB_WORDS_GROUP = "IMDb: words retained in true positives"
CLUSTER_GROUP = "Representation of the retained tokens"
OVERALL_GROUP = "Overall: meaningful words, not superficial cues"
READ = "reach the classifier (alive on entry to the last layer)"
SHARE = "share of the retained words (those the classifier read; punctuation and symbols left out; by true class)"
IMDB_TRUE_POSITIVE_WORDS = ("movie", "film", "great", "good", "best", "excellent", "amazing", "love", "funny",
                            "recommend")


def _vocabulary_claim(class_name: str) -> Claim:
    words = STUDY_KEYWORDS["ag_news"][class_name]
    return Claim(f"ag_news.vocabulary.{class_name.lower().replace('/', '_')}", VOCABULARY_GROUP,
                 f"The retained vocabulary of {class_name} features {', '.join(words)} (the classifier reads them "
                 "more often than other content words)",
                 f"in {class_name} texts, the share of these words' occurrences that {READ} divided by the share for "
                 "all content words", Above(1.0), keyword_lift(words, class_name=class_name), AG_NEWS)


CLAIMS: list[Claim] = [
    Claim("ag_news.pos.noun", POS_GROUP, "Nouns dominate the retained words in every class",
          f"NOUN's {SHARE} minus the largest other part of speech's, in the class where that gap is smallest",
          Above(0.0), largest_pos("NOUN"), AG_NEWS),
    Claim("ag_news.pos.propn", POS_GROUP, "Proper nouns are prominent in World, Sports and Business, less so in "
          "Sci/Tech", f"PROPN's {SHARE}: its smallest over World, Sports and Business minus Sci/Tech's",
          Above(0.0), pos_contrast("PROPN", ("World", "Sports", "Business"), ("Sci/Tech",)), AG_NEWS),
    Claim("ag_news.pos.verb", POS_GROUP, "Verbs are more frequent in Sports and Business",
          f"VERB's {SHARE}: its smaller over Sports and Business minus its larger over World and Sci/Tech",
          Above(0.0), pos_contrast("VERB", ("Sports", "Business"), ("World", "Sci/Tech")), AG_NEWS),
    Claim("ag_news.pos.adj_balanced", POS_GROUP, "Adjectives are balanced across the classes",
          f"ADJ's largest {SHARE} over the classes divided by its smallest", Below(1.25), pos_spread("ADJ"), AG_NEWS),
    Claim("ag_news.pos.adj_scitech", POS_GROUP, "Adjectives are slightly more frequent in Sci/Tech",
          f"ADJ's {SHARE}: Sci/Tech's minus the largest of the other classes'",
          Above(0.0), pos_contrast("ADJ", ("Sci/Tech",), ("World", "Sports", "Business")), AG_NEWS),
    Claim("ag_news.pos.num", POS_GROUP, "Sports and Business have more numerals",
          f"NUM's {SHARE}: its smaller over Sports and Business minus its larger over World and Sci/Tech",
          Above(0.0), pos_contrast("NUM", ("Sports", "Business"), ("World", "Sci/Tech")), AG_NEWS),
    Claim("ag_news.pos.adv", POS_GROUP, "Sports and Business have more adverbs",
          f"ADV's {SHARE}: its smaller over Sports and Business minus its larger over World and Sci/Tech",
          Above(0.0), pos_contrast("ADV", ("Sports", "Business"), ("World", "Sci/Tech")), AG_NEWS),
    Claim("ag_news.pos.scitech_adv_num", POS_GROUP, "Sci/Tech has more adverbs than numerals",
          f"in Sci/Tech, ADV's {SHARE} minus NUM's", Above(0.0), pos_pair("ADV", "NUM", "Sci/Tech"), AG_NEWS),
    *[_vocabulary_claim(name) for name in STUDY_KEYWORDS["ag_news"]],
    Claim("imdb.true_positive_words", IMDB_WORDS_GROUP,
          f"The retained words that dominate true positives are {', '.join(IMDB_TRUE_POSITIVE_WORDS)} (the "
          "classifier reads them more often than other content words)",
          f"in true positive reviews, the share of these words' occurrences that {READ} divided by the share for "
          "all content words", Above(1.0), keyword_lift(IMDB_TRUE_POSITIVE_WORDS, true_positives="positive"),
          IMDB),
    Claim("imdb.cluster.positive_denser", CLUSTER_GROUP,
          "IMDb: the positive class is denser than the negative one, which is more spread out",
          "negative reviews' mean distance to their class centroid divided by positive reviews' (retained-token "
          "representations)", Above(1.0), spread_ratio("negative", "positive"), IMDB),
    Claim("imdb.cluster.separate", CLUSTER_GROUP, "IMDb: the classes separate",
          "mean silhouette of the reviews by true class (retained-token representations, Euclidean)",
          Above(0.0), silhouette(), IMDB),
    Claim("imdb.cluster.overlap", CLUSTER_GROUP, "IMDb: the classes overlap somewhat",
          "share of reviews nearer, on average, the other class than their own (negative silhouette)",
          Inside(0.0, 0.5), overlap_share(), IMDB),
    Claim("ag_news.cluster.coherent", CLUSTER_GROUP, "AG News: each class forms a coherent cluster",
          "the smallest over the classes of their mean silhouette (retained-token representations, Euclidean)",
          Above(0.0), silhouette(every_class=True), AG_NEWS),
    Claim("overall.stopwords", OVERALL_GROUP, "Stopwords are pruned far more than content words",
          f"the share of content words (neither stopword nor punctuation) that {READ} divided by the share of "
          "stopwords that do", Above(2.0), kept_rate_ratio("stopword")),
    Claim("overall.punctuation", OVERALL_GROUP, "Punctuation is pruned far more than content words",
          f"the share of content words (neither stopword nor punctuation) that {READ} divided by the share of "
          "punctuation marks that do", Above(2.0), kept_rate_ratio("punctuation")),
]


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


def check(data: RunData, claims: Sequence[Claim] = CLAIMS, resamples: int = RESAMPLES, seed: int = 0) -> Findings:
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


def format_interval(value: float, low: float, high: float) -> str:
    """'0.123 [0.101, 0.150]', or '–' when there is no value."""
    if np.isnan(value):
        return "–"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def format_corrected(low: float, high: float, confidence: float) -> str:
    """A corrected interval with its level: '[0.095, 0.158] at 99.62%', or '–' when there is none."""
    if np.isnan(confidence):
        return "–"
    return f"[{low:.3f}, {high:.3f}] at {100 * confidence:.4g}%"


def table_with_parts(findings: Findings) -> pd.DataFrame:
    """The table with a `parts` column: each part's value and interval ('World 0.410 [0.394, 0.426]; ...'), as
    the CSV of the page and of pipelines.findings holds it."""
    parts = findings.parts.assign(text=[f"{p.part} {format_interval(p.value, p.low, p.high)}"
                                        for p in findings.parts.itertuples(index=False)])
    joined = parts.groupby(["run_id", "key"], sort=False)["text"].agg("; ".join).rename("parts").reset_index()
    return findings.table.merge(joined, on=["run_id", "key"], how="left").fillna({"parts": ""})
