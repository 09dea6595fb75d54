"""The measures claims are built from: each returns, for a run, a `Measure` whose statistic is recomputed on every
bootstrap resample of the run's examples.

Statistics of per-example sums (shares, rates) are sums of weighted columns (`summed`); the cluster statistics
(silhouettes, distances to class centroids) are recomputed from the drawn texts.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .data import MissingData, RunData
from .engine import Measure, Statistic

NOT_WORDS = frozenset({"PUNCT", "SYM", "SPACE", "X"})   # spaCy tags that are no part of speech of a word


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
