"""One typed text through several pruned models (LTP, top-k, TS-DTP...) and how much their kept tokens overlap."""
from __future__ import annotations

from dataclasses import dataclass, field

from .compare import layer_jaccard
from .live import LiveResult, classify_live
from pruning_core.methods import PruningMethod
from .tables import method_name
from pruning_core.text import DEFAULT_MAX_LENGTH, PrunedTextClassifier


@dataclass
class SideBySide:
    results: dict[str, LiveResult] = field(default_factory=dict)           # per setup name, in the given order
    overlaps: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # Jaccard per layer, per pair
    notes: list[str] = field(default_factory=list)   # pairs that cannot be compared, and why
    hint: str | None = None                         # instead of results: nothing to classify


def compare_on_text(text: str, setups: dict[str, tuple[PrunedTextClassifier, PruningMethod]],
                    max_length: int = DEFAULT_MAX_LENGTH) -> SideBySide:
    """Classify text under each (classifier, method) setup; overlap for every pair that tokenizes it alike."""
    results = {name: classify_live(classifier, method, text, max_length) for name, (classifier, method)
               in setups.items()}
    hint = next((result.hint for result in results.values() if result.hint), None)
    if hint:
        return SideBySide(hint=hint)
    outcome = SideBySide(results)
    names = list(results)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            a, b = results[first].trace, results[second].trace
            if a.tokens != b.tokens:
                outcome.notes.append(f"{method_name(first)} and {method_name(second)} tokenize this text differently "
                                     "(different vocabularies or cut-offs), so their overlap is not shown.")
                continue
            outcome.overlaps[(first, second)] = layer_jaccard(a, b)
    return outcome
