"""`none`: keep every token. Scores are still computed so traces and pages can show them."""
from __future__ import annotations

from .base import LayerState, PruningMethod, Selection, attention_received


class NoPruning(PruningMethod):
    name = "none"
    title = "No pruning"
    removes_tokens = False

    def describe(self) -> str:
        return "No pruning: every token reaches the classifier."

    def expected_counts(self, num_tokens: int, num_layers: int) -> list[int] | None:
        return [num_tokens] * num_layers

    def prunes_at(self, layer: int) -> bool:
        return False

    def select(self, state: LayerState) -> Selection:
        return Selection(scores=attention_received(state), keep=state.alive)
