"""Pruning methods, one module each, behind `PruningMethod.select(LayerState) -> Selection`."""
from .base import Adjustment, LayerState, Merge, PruningMethod, Selection, TrainableMethod, attention_received
from .controls import Control
from .io import PRUNING_CONFIG, PRUNING_WEIGHTS, has_method, load_method, save_method
from .ltp import LearnedTokenPruning
from .merge import TokenMerging
from .none import NoPruning
from .registry import METHODS, build_from_controls, build_method, control_values
from .topk import TopK, geometric_keep, schedule_counts, schedule_keep_ratio, shaped_keep
from .ts_dtp import TaskSpecificDynamicPruning

__all__ = ["METHODS", "PRUNING_CONFIG", "PRUNING_WEIGHTS", "Adjustment", "Control", "LayerState", "LearnedTokenPruning",
           "Merge", "NoPruning", "PruningMethod", "Selection", "TaskSpecificDynamicPruning", "TokenMerging", "TopK",
           "TrainableMethod", "attention_received", "build_from_controls", "build_method", "control_values",
           "geometric_keep", "shaped_keep", "has_method", "load_method", "save_method", "schedule_counts",
           "schedule_keep_ratio"]
