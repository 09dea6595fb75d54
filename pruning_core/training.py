"""What text and vision training share: a stage's result and the step callback (pruning_core.text.training,
pruning_core.vision.training)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class TrainResult:
    steps: int
    mean_loss: float
    final_loss: float
    keep_fractions: list[float] = field(default_factory=list)  # soft mode: mean mask per layer, last steps
    first_batch: int = 0      # where in the stream of batches the stage started
    examples: int = 0         # training examples this process saw (repeats counted)

    def as_dict(self) -> dict:
        return {"steps": self.steps, "mean_loss": self.mean_loss, "final_loss": self.final_loss,
                "keep_fractions": self.keep_fractions, "first_batch": self.first_batch, "examples": self.examples}


StepCallback = Callable[[int, int], None]   # on_step(steps done, total steps), after every optimizer step
