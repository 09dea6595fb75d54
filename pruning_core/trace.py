"""The trace: the one record of what a pruned model did to each example, layer by layer.

Everything downstream (DuckDB tables, dashboard pages, tests) reads traces, never model internals.

What the classifier read: the head reads only CLS after the last layer, and CLS's last attention reads the
tokens alive on entry to that layer. The last layer's own decision cannot change the prediction, so a token
"reached the classifier" when it survived every layer but the last (`reached_classifier`); traces still record
every layer's decision.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .render import trace_html


def reached_classifier(drop_layer, num_layers: int):
    """The one rule for "the classifier read this token": it was alive on entry to the last layer, i.e. it was
    not removed before layer num_layers - 1. drop_layer: a layer number or an array of them (num_layers for a
    token no layer removed), as ExampleTrace.drop_layer and the stored tables hold it."""
    return drop_layer >= num_layers - 1


def read_layer(num_layers: int) -> int:
    """For per-layer tables that count what is alive after layer l (keep fractions, retention, drop_layer > l):
    the layer whose survivors are exactly the tokens the classifier read (the one before the last; -1, the
    input, for a one-layer model). Derived from reached_classifier, the one rule."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1, got {num_layers!r}.")
    return min(layer for layer in range(num_layers + 1) if reached_classifier(layer, num_layers)) - 1


@dataclass
class ExampleTrace:
    """What happened to one example.

    scores[l, i] is token i's importance at layer l (NaN once the token is gone); kept[l, i] says
    whether it survived layer l. drop_layer[i] is the layer that removed token i, or num_layers if it
    reached the classifier.
    """

    tokens: list[str]
    scores: np.ndarray                 # (L, n) float32
    kept: np.ndarray                   # (L, n) bool
    thresholds: list[float | None]    # this example's cut-off at each layer, in score units (None: no threshold)
    probabilities: list[float]
    label_names: list[str]
    text: str = ""
    offsets: list[tuple[int, int]] = field(default_factory=list)   # character span per token, (0, 0) for specials
    word_ids: list[int | None] = field(default_factory=list)       # word index per token, None for specials
    label: int | None = None
    truncated: bool = False  # the text was longer than the model's maximum length and was cut
    grid: tuple[int, int] | None = None  # images: patch rows, cols; token 0 is CLS, token 1 + i is patch i (row-major)
    merged_into: np.ndarray | None = None  # (L, n) int, merging methods: the token whose row a token merged away at
                                           # layer l joined, -1 elsewhere; None for methods that only drop

    @property
    def num_layers(self) -> int:
        return int(self.kept.shape[0])

    @property
    def prediction(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def probability(self) -> float:
        return float(max(self.probabilities))

    @property
    def predicted_name(self) -> str:
        return self.label_names[self.prediction]

    @property
    def keep_counts(self) -> list[int]:
        """Tokens alive after each layer."""
        return self.kept.sum(axis=1).astype(int).tolist()

    @property
    def read_mask(self) -> np.ndarray:
        """(n,) bool: the tokens the classifier read (alive on entry to the last layer; see reached_classifier)."""
        return reached_classifier(self.drop_layer, self.num_layers)

    @property
    def read_count(self) -> int:
        """How many tokens the classifier read, CLS included."""
        return int(self.read_mask.sum())

    @property
    def drop_layer(self) -> np.ndarray:
        """(n,) layer at which each token was removed; num_layers for tokens that were never removed."""
        gone = ~self.kept
        first_gone = gone.argmax(axis=0)
        return np.where(gone.any(axis=0), first_gone, self.num_layers)

    def patch_mask(self, layer: int) -> np.ndarray:
        """Images only: (rows, cols) bool, the patches still alive after `layer`."""
        if self.grid is None:
            raise ValueError("patch_mask needs an image trace (one with a patch grid).")
        return self.kept[layer, 1:].reshape(self.grid)

    def groups(self, layer: int) -> np.ndarray:
        """(n,) for each token, the token whose row holds it after `layer`: itself while it has a row of its own,
        the surviving row it was merged into otherwise (for methods that only drop, every token is its own)."""
        holder = np.arange(len(self.tokens))
        if self.merged_into is None:
            return holder
        for joined in self.merged_into[:layer + 1]:
            holder = np.where(joined[holder] >= 0, joined[holder], holder)
        return holder

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (layer, token) for tokens present at that layer."""
        layers, index = np.nonzero(~np.isnan(self.scores))
        return pd.DataFrame({
            "layer": layers,
            "token_index": index,
            "token": np.asarray(self.tokens, dtype=object)[index],
            "score": self.scores[layers, index],
            "kept": self.kept[layers, index],
            "threshold": [self.thresholds[layer] for layer in layers],
            "drop_layer": self.drop_layer[index],
        })

    def _repr_html_(self) -> str:
        """A notebook shows the answer and the layers: token rows for a text, patch grids for a picture."""
        return trace_html(self)

    def words(self) -> list[Word]:
        """Sub-word tokens grouped into words: a word is alive at a layer while any of its pieces is."""
        groups: dict[int, list[int]] = {}
        for position, word in enumerate(self.word_ids):
            if word is not None:
                groups.setdefault(word, []).append(position)
        words = []
        for positions in groups.values():
            start, end = self.offsets[positions[0]][0], self.offsets[positions[-1]][1]
            text = self.text[start:end] if self.text else "".join(self.tokens[p] for p in positions)
            words.append(Word(text, positions, int(self.drop_layer[positions].max())))
        return words


@dataclass
class Word:
    text: str
    token_positions: list[int]
    drop_layer: int

