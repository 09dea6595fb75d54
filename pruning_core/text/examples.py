"""The built-in example texts (the dashboard's buttons), each with the dataset it belongs to and its right label,
and the check that a model shows pruning on them: every example classified right with at least a share of its
tokens removed before the classifier reads them (alive on entry to the last layer, `trace.reached_classifier`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..methods.base import finite_number
from .data import DATASETS
from .model import PrunedTextClassifier


@dataclass(frozen=True)
class Example:
    name: str
    text: str
    dataset: str   # a key of text.data.DATASETS
    label: str     # one of that dataset's label names

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS or self.label not in DATASETS[self.dataset].label_names:
            raise ValueError(f"example {self.name!r}: label {self.label!r} is not one of dataset "
                             f"{self.dataset!r}'s labels.")


EXAMPLES: tuple[Example, ...] = (
    Example("Restaurant (study)", "This is the best restaurant, and I will be returning for another meal.",
            "imdb", "positive"),
    Example("Glowing review", "A wonderful film with a brilliant cast, a moving story and music I still hum days "
            "later.", "imdb", "positive"),
    Example("Harsh review", "The plot made no sense, the acting was wooden, and I walked out before the boring "
            "ending.", "imdb", "negative"),
    Example("Mixed feelings", "The first hour is gripping, but the ending is rushed and the jokes fall flat.",
            "imdb", "negative"),
    Example("World news", "Troops began leaving the city on Tuesday as the president met ministers to discuss the "
            "ceasefire.", "ag_news", "World"),
    Example("Tech news", "Google released a new version of its Linux-based operating system for phones and laptops.",
            "ag_news", "Sci/Tech"),
)
MIN_DROPPED = 1 / 3   # the share of an example's tokens a demo model should remove before its classifier reads


@dataclass(frozen=True)
class ExampleOutcome:
    example: Example
    predicted: str
    tokens: int        # tokens at the input, CLS and SEP included
    read: int          # tokens the classifier read (alive on entry to the last layer)

    @property
    def dropped(self) -> float:
        return 1 - self.read / self.tokens

    def shows_pruning(self, min_dropped: float = MIN_DROPPED) -> bool:
        """Classified right, with at least `min_dropped` of its tokens removed before the classifier."""
        finite_number("min_dropped", min_dropped, 0.0, 1.0)
        return self.predicted == self.example.label and self.dropped >= min_dropped

    def describe(self) -> str:
        return (f"{self.example.name}: {self.predicted} ({'right' if self.predicted == self.example.label else 'wrong'}"
                f"), read {self.read} of {self.tokens} tokens ({self.dropped:.0%} removed)")


def examples_of(dataset: str, examples: Sequence[Example] = EXAMPLES) -> list[Example]:
    """The examples that belong to `dataset`."""
    return [example for example in examples if example.dataset == dataset]


def check_examples(classifier: PrunedTextClassifier, examples: Sequence[Example]) -> list[ExampleOutcome]:
    """Each example traced with the classifier's own method: its prediction and the tokens its classifier read."""
    traces = classifier.trace([example.text for example in examples])
    return [ExampleOutcome(example, trace.predicted_name, len(trace.tokens), trace.read_count)
            for example, trace in zip(examples, traces)]
