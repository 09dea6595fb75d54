"""What the Classroom page computes (no Streamlit): a lesson is one classified text or picture shown step by step
(step 0 the input, step l what is left after layer l), and the guessing game scores the words a class thinks the
classifier reads against the words it read (alive on entry to the last layer: pruning_core.trace.reached_classifier).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from PIL import Image

from pruning_core.text.examples import Example
from pruning_core.trace import ExampleTrace, reached_classifier, read_layer

# A projector shows a few lines in very large type: the model reads this many tokens of a text (a notice says so).
MAX_TOKENS = 64
PICTURE_SIZE = 480          # pixels a picture is shown at
PLAY_SECONDS = 1.5          # autoplay: time on each layer


@dataclass(frozen=True)
class Lesson:
    trace: ExampleTrace
    pictures: Sequence[Image.Image] = ()   # pictures only: the input, then the picture after each layer, greyed
    note: str | None = None                # e.g. the picture's true label

    @property
    def last_step(self) -> int:
        return self.trace.num_layers

    @property
    def read_step(self) -> int:
        """The step that shows what the classifier reads: what is left when the last layer starts."""
        return read_layer(self.trace.num_layers) + 1

    def tokens_left(self, step: int) -> int:
        return len(self.trace.tokens) if step == 0 else self.trace.keep_counts[step - 1]


def next_step(step: int, last: int) -> int:
    return min(step + 1, last)


def previous_step(step: int) -> int:
    return max(step - 1, 0)


# --- the guessing game ----------------------------------------------------------------------------------------

def word_choices(trace: ExampleTrace) -> list[str]:
    """The words a class may pick, once each, in text order; punctuation alone is left out."""
    seen: dict[str, None] = {}
    for word in trace.words():
        if any(char.isalnum() for char in word.text):
            seen.setdefault(word.text, None)
    return list(seen)


def survivors(trace: ExampleTrace) -> list[str]:
    """The choices the classifier read: alive on entry to the last layer (a word lives while any of its pieces
    does; a word written twice counts when either does), in text order."""
    kept = {word.text for word in trace.words() if reached_classifier(word.drop_layer, trace.num_layers)}
    return [word for word in word_choices(trace) if word in kept]


@dataclass(frozen=True)
class GuessScore:
    overlap: float             # Jaccard: shared words over all words named by either
    precision: float | None    # of the words guessed, the share the classifier read (None: nothing guessed)
    recall: float | None       # of the words read, the share guessed (None: the classifier read none)
    dropped: list[str]         # guessed, but dropped before the last layer
    missed: list[str]          # read by the classifier, but not guessed


def score_guess(guess: Iterable[str], trace: ExampleTrace) -> GuessScore:
    """The class's guess against the model; words not in the text are ignored."""
    choices = word_choices(trace)
    guessed, kept = set(guess) & set(choices), set(survivors(trace))
    shared, either = guessed & kept, guessed | kept
    return GuessScore(overlap=len(shared) / len(either) if either else 1.0,
                      precision=len(shared) / len(guessed) if guessed else None,
                      recall=len(shared) / len(kept) if kept else None,
                      dropped=[word for word in choices if word in guessed - kept],
                      missed=[word for word in choices if word in kept - guessed])


def tally_line(overlaps: Sequence[float]) -> str:
    """The running score over the rounds played."""
    if not overlaps:
        return "No round played yet."
    rounds = "1 round" if len(overlaps) == 1 else f"{len(overlaps)} rounds"
    return (f"{rounds} played · average overlap {sum(overlaps) / len(overlaps):.0%} · best {max(overlaps):.0%} · "
            f"last {overlaps[-1]:.0%}")


def next_example(text: str, examples: Sequence[Example]) -> str:
    """A new round's text: the next example of the current one's dataset, so the model still fits it (the first
    example when the text is the class's own)."""
    current = next((example for example in examples if example.text == text), None)
    if current is None:
        return examples[0].text
    same = [example for example in examples if example.dataset == current.dataset]
    return same[(same.index(current) + 1) % len(same)].text
