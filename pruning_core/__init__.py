"""Token Pruning Lens core: prune tokens inside transformers, for real, and trace what survives."""
from .methods import METHODS, PruningMethod, build_method
from .trace import ExampleTrace, traces_to_frame

__all__ = ["METHODS", "ExampleTrace", "PruningMethod", "build_method", "traces_to_frame"]
