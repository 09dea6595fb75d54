"""The study's findings as claims a run can support or not, each with a statistic, a 95% interval and a verdict.

A claim (`Claim`) names what it says, the statistic that tests it and the rule that turns the statistic's interval
into a verdict. Its `measure` returns per-example columns (one row per example of the run) whose sums over the
examples give the statistic through `reduce`. Resampling the examples with replacement (`bootstrap_sums`, one seed
for every claim of a run) and reducing each resample gives the 95% percentile interval. So an interval is over
examples, as the trace's unit of sampling, whatever the statistic counts (words, distances).

To check a claim of your own, append a Claim to CLAIMS (or pass your own list to `check`), for instance

    CLAIMS.append(Claim("mine.noun_world", "My claims", "World keeps more nouns than Sports",
                        "NOUN's share of the retained words: World's minus Sports'", Above(0.0),
                        pos_contrast("NOUN", higher=("World",), lower=("Sports",)), datasets=("ag_news",)))

and the Findings page and `python -m pipelines.findings` show it beside the study's.
"""
from __future__ import annotations

import string
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .. import store
from ..metrics import bootstrap_sums
from .keywords import STUDY_KEYWORDS

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NO_DATA = "supported", "not supported", "inconclusive", "no data"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NO_DATA)
RESAMPLES = 2_000
NOT_WORDS = frozenset({"PUNCT", "SYM", "SPACE", "X"})   # spaCy tags that are no part of speech of a word
TABLE_COLUMNS = ["run_id", "dataset", "key", "group", "claim", "statistic", "value", "low", "high", "verdict",
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
    words: pd.DataFrame             # spaCy words: row (into examples), word, pos, is_stop, is_punct, kept, bare
                                    # (the word without surrounding punctuation), has_letter
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
                          "kept": words["drop_layer"].to_numpy() >= int(info["num_layers"])})
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

@dataclass(frozen=True)
class Above:
    """Supported when the whole interval lies above the threshold, not supported when it lies below it."""

    threshold: float

    def verdict(self, low: float, high: float) -> str:
        return SUPPORTED if low > self.threshold else NOT_SUPPORTED if high < self.threshold else INCONCLUSIVE

    @property
    def short(self) -> str:
        return f"interval above {self.threshold:g}"

    def describe(self) -> str:
        return (f"supported when the whole 95% interval lies above {self.threshold:g}, not supported when it lies "
                f"below {self.threshold:g}, inconclusive when it contains {self.threshold:g}")


@dataclass(frozen=True)
class Below:
    """Supported when the whole interval lies below the threshold, not supported when it lies above it."""

    threshold: float

    def verdict(self, low: float, high: float) -> str:
        return SUPPORTED if high < self.threshold else NOT_SUPPORTED if low > self.threshold else INCONCLUSIVE

    @property
    def short(self) -> str:
        return f"interval below {self.threshold:g}"

    def describe(self) -> str:
        return (f"supported when the whole 95% interval lies below {self.threshold:g}, not supported when it lies "
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

    @property
    def short(self) -> str:
        return f"interval inside ({self.low:g}, {self.high:g})"

    def describe(self) -> str:
        return (f"supported when the whole 95% interval lies between {self.low:g} and {self.high:g}, not supported "
                f"when it lies wholly outside that range, inconclusive otherwise")


Rule = Above | Below | Inside


# ------------------------------------------------------------------------------------------------ claims

@dataclass(frozen=True)
class Measure:
    """Per-example columns (n, k) and how their sums (..., k) become values (..., 1 + len(parts)): the statistic
    first, then the parts a chart shows (each with its own interval)."""

    columns: np.ndarray
    reduce: Callable[[np.ndarray], np.ndarray]
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


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator: infinite where only the denominator is 0 (a rate of content words over a rate of
    0), NaN where both are (nothing to count)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1),
                        np.where(numerator > 0, np.inf, np.nan))


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
        return Measure(columns, reduce, tuple(classes), f"{tag}'s share of retained words", note)
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
        return Measure(pos_columns(data, [tag], classes), reduce, tuple(classes), f"{tag}'s share of retained words")
    return measure


def pos_spread(tag: str) -> Callable[[RunData], Measure]:
    """Tag's largest share of the retained words over the classes divided by its smallest (1: the same in all)."""
    def measure(data: RunData) -> Measure:
        classes = data.label_names

        def reduce(sums: np.ndarray) -> np.ndarray:
            shares = _shares(sums, len(classes))[..., 0]
            ratio = _divide(np.max(shares, axis=-1), np.min(shares, axis=-1))
            return np.concatenate([ratio[..., None], shares], axis=-1)
        return Measure(pos_columns(data, [tag], classes), reduce, tuple(classes), f"{tag}'s share of retained words")
    return measure


def pos_pair(first: str, second: str, class_name: str) -> Callable[[RunData], Measure]:
    """In one class, first's share of the retained words minus second's; the parts are both shares."""
    def measure(data: RunData) -> Measure:
        def reduce(sums: np.ndarray) -> np.ndarray:
            shares = _shares(sums, 1)[..., 0, :]
            return np.concatenate([shares[..., :1] - shares[..., 1:], shares], axis=-1)
        return Measure(pos_columns(data, [first, second], [class_name]), reduce, (first, second),
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
        return Measure(columns, reduce, ("listed words", "all content words"), "share of occurrences kept", note)
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
        return Measure(columns, reduce, ("content words", kind), "share of words kept")
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


def _by_class(data: RunData, rows: np.ndarray, labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n, 2C): per class, the values of its embedded examples (0 elsewhere), then 1 for each of them."""
    columns = np.zeros((data.n, 2 * len(data.label_names)))
    for index in range(len(data.label_names)):
        mine = labels == index
        columns[rows[mine], 2 * index] = values[mine]
        columns[rows[mine], 2 * index + 1] = 1.0
    return columns


def _class_means(sums: np.ndarray) -> np.ndarray:
    """(..., 2C) sums from _by_class -> (..., C) the mean value of each class."""
    grouped = sums.reshape(*sums.shape[:-1], -1, 2)
    return _divide(grouped[..., 0], grouped[..., 1])


def silhouettes(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each example's silhouette by true class (Euclidean): (b - a) / max(a, b), a its mean distance to its own
    class, b to the nearest other class; above 0, it sits nearer its own class."""
    from sklearn.metrics import silhouette_samples
    return silhouette_samples(vectors, labels, metric="euclidean")


def spread_ratio(spread: str, dense: str) -> Callable[[RunData], Measure]:
    """Mean Euclidean distance of the `spread` class's embedded examples to their class centroid divided by the
    `dense` class's (above 1: `dense` is the tighter class). Centroids come from all embedded examples; the
    bootstrap resamples the examples around them."""
    def measure(data: RunData) -> Measure:
        vectors, rows, labels = _embedded(data)
        centroids = np.stack([vectors[labels == i].mean(axis=0) if (labels == i).any() else vectors.mean(axis=0)
                              for i in range(len(data.label_names))])
        distances = np.linalg.norm(vectors - centroids[labels], axis=1)
        first, second = data.class_index(spread), data.class_index(dense)

        def reduce(sums: np.ndarray) -> np.ndarray:
            means = _class_means(sums)
            return np.stack([_divide(means[..., first], means[..., second]), means[..., first], means[..., second]],
                            axis=-1)
        return Measure(_by_class(data, rows, labels, distances), reduce, (spread, dense),
                       "mean distance to the class centroid", f"{len(vectors):,} embedded examples")
    return measure


def silhouette(every_class: bool = False) -> Callable[[RunData], Measure]:
    """Mean silhouette of the embedded examples by true class: over all of them, or (every_class) the smallest of
    the classes' means. Silhouettes are computed once on all embedded examples; the bootstrap resamples them."""
    def measure(data: RunData) -> Measure:
        vectors, rows, labels = _embedded(data)
        columns = _by_class(data, rows, labels, silhouettes(vectors, labels))

        def reduce(sums: np.ndarray) -> np.ndarray:
            means = _class_means(sums)
            overall = _divide(sums[..., 0::2].sum(axis=-1), sums[..., 1::2].sum(axis=-1))
            statistic = np.min(means, axis=-1) if every_class else overall
            return np.concatenate([statistic[..., None], means], axis=-1)
        return Measure(columns, reduce, tuple(data.label_names), "mean silhouette",
                       f"{len(vectors):,} embedded examples")
    return measure


def overlap_share() -> Callable[[RunData], Measure]:
    """Share of the embedded examples with a negative silhouette (nearer, on average, another class than their
    own); the parts are that share in each class."""
    def measure(data: RunData) -> Measure:
        vectors, rows, labels = _embedded(data)
        columns = _by_class(data, rows, labels, (silhouettes(vectors, labels) < 0).astype(float))

        def reduce(sums: np.ndarray) -> np.ndarray:
            overall = _divide(sums[..., 0::2].sum(axis=-1), sums[..., 1::2].sum(axis=-1))
            return np.concatenate([overall[..., None], _class_means(sums)], axis=-1)
        return Measure(columns, reduce, tuple(data.label_names), "share nearer another class",
                       f"{len(vectors):,} embedded examples")
    return measure


AG_NEWS, IMDB = ("ag_news",), ("imdb",)
POS_GROUP = "AG News: parts of speech of the retained words"
VOCABULARY_GROUP = "AG News: retained vocabulary per class"
IMDB_WORDS_GROUP = "IMDb: words retained in true positives"
CLUSTER_GROUP = "Representation of the retained tokens"
OVERALL_GROUP = "Overall: meaningful words, not superficial cues"
SHARE = "share of the retained words (punctuation and symbols left out, by true class)"
IMDB_TRUE_POSITIVE_WORDS = ("movie", "film", "great", "good", "best", "excellent", "amazing", "love", "funny",
                            "recommend")


def _vocabulary_claim(class_name: str) -> Claim:
    words = STUDY_KEYWORDS["ag_news"][class_name]
    return Claim(f"ag_news.vocabulary.{class_name.lower().replace('/', '_')}", VOCABULARY_GROUP,
                 f"The retained vocabulary of {class_name} features {', '.join(words)} (pruning keeps them more "
                 "readily than other content words)",
                 f"in {class_name} texts, the share of these words' occurrences that reach the classifier divided by "
                 "the share for all content words", Above(1.0), keyword_lift(words, class_name=class_name), AG_NEWS)


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
          f"The retained words that dominate true positives are {', '.join(IMDB_TRUE_POSITIVE_WORDS)} (pruning "
          "keeps them more readily than other content words)",
          "in true positive reviews, the share of these words' occurrences that reach the classifier divided by the "
          "share for all content words", Above(1.0), keyword_lift(IMDB_TRUE_POSITIVE_WORDS, true_positives="positive"),
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
          "the share of content words (neither stopword nor punctuation) that reach the classifier divided by the "
          "share of stopwords that do", Above(2.0), kept_rate_ratio("stopword")),
    Claim("overall.punctuation", OVERALL_GROUP, "Punctuation is pruned far more than content words",
          "the share of content words (neither stopword nor punctuation) that reach the classifier divided by the "
          "share of punctuation marks that do", Above(2.0), kept_rate_ratio("punctuation")),
]


# ------------------------------------------------------------------------------------------------ checking

class Findings(NamedTuple):
    table: pd.DataFrame    # one row per claim: TABLE_COLUMNS
    parts: pd.DataFrame    # one row per claim and part (what a chart shows): PART_COLUMNS


def interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2.5% and 97.5% percentiles of each column of (resamples, m), leaving out resamples where it is undefined
    (a class drawn without a single word to count); an infinite value ranks above every finite one."""
    big = np.finfo(np.float64).max
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # a column undefined in every resample gives NaN
        low, high = np.nanpercentile(np.clip(samples, -big, big), [2.5, 97.5], axis=0)
    return tuple(np.where(np.abs(bound) == big, np.copysign(np.inf, bound), bound) for bound in (low, high))


def check(data: RunData, claims: Sequence[Claim] = CLAIMS, resamples: int = RESAMPLES, seed: int = 0) -> Findings:
    """Every claim that applies to the run's dataset: its statistic, 95% bootstrap interval over the examples
    (the same `resamples` seeded resamples for every claim) and verdict; a claim the run cannot measure gets
    the verdict "no data" and a note saying why."""
    applicable = [claim for claim in claims if claim.applies_to(data.dataset)]
    keys = [claim.key for claim in applicable]
    if len(set(keys)) < len(keys):
        raise ValueError(f"Claims need distinct keys; repeated: {sorted({k for k in keys if keys.count(k) > 1})}")
    measured: dict[str, Measure] = {}
    notes: dict[str, str] = {}
    for claim in applicable:
        try:
            measured[claim.key] = claim.measure(data)
        except MissingData as missing:
            notes[claim.key] = str(missing)
    samples: dict[str, np.ndarray] = {}
    if measured and data.n:
        sums = bootstrap_sums(np.hstack([m.columns for m in measured.values()]), resamples, seed)
        start = 0
        for key, m in measured.items():
            samples[key] = m.reduce(sums[:, start:start + m.columns.shape[1]])
            start += m.columns.shape[1]
    rows, parts = [], []
    for claim in applicable:
        row = {"run_id": data.run_id, "dataset": data.dataset, "key": claim.key, "group": claim.group,
               "claim": claim.text, "statistic": claim.statistic, "value": np.nan, "low": np.nan, "high": np.nan,
               "verdict": NO_DATA, "supported_when": claim.rule.short, "rule": claim.rule_text,
               "note": notes.get(claim.key, "")}
        if claim.key in samples:
            m = measured[claim.key]
            values = m.reduce(m.columns.sum(axis=0))
            low, high = interval(samples[claim.key])
            row.update(value=float(values[0]), low=float(low[0]), high=float(high[0]), note=m.note)
            if not np.isnan([values[0], low[0], high[0]]).any():
                row["verdict"] = claim.rule.verdict(row["low"], row["high"])
            else:
                row["note"] = "; ".join(filter(None, ["the statistic is undefined on this run (nothing to count)",
                                                      m.note]))
            parts += [{"run_id": data.run_id, "key": claim.key, "part": name, "measure": m.part_label,
                       "value": float(v), "low": float(lo), "high": float(hi)}
                      for name, v, lo, hi in zip(m.parts, values[1:], low[1:], high[1:])]
        rows.append(row)
    return Findings(pd.DataFrame(rows, columns=TABLE_COLUMNS), pd.DataFrame(parts, columns=PART_COLUMNS))


def format_interval(value: float, low: float, high: float) -> str:
    """'0.123 [0.101, 0.150]', or '–' when there is no value."""
    if np.isnan(value):
        return "–"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def table_with_parts(findings: Findings) -> pd.DataFrame:
    """The table with a `parts` column: each part's value and interval ('World 0.410 [0.394, 0.426]; ...'), as
    the CSV of the page and of pipelines.findings holds it."""
    parts = findings.parts.assign(text=[f"{p.part} {format_interval(p.value, p.low, p.high)}"
                                        for p in findings.parts.itertuples(index=False)])
    joined = parts.groupby(["run_id", "key"], sort=False)["text"].agg("; ".join).rename("parts").reset_index()
    return findings.table.merge(joined, on=["run_id", "key"], how="left").fillna({"parts": ""})
