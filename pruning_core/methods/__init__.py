"""Pruning methods, one module each, behind `PruningMethod.select(LayerState) -> Selection`."""
from .base import Adjustment, LayerState, PruningMethod, Selection, TrainableMethod, attention_received
from .io import PRUNING_CONFIG, PRUNING_WEIGHTS, has_method, load_method, save_method
from .ltp import LearnedTokenPruning
from .none import NoPruning
from .registry import METHODS, build_method
from .topk import TopK, geometric_keep, schedule_counts, schedule_keep_ratio, shaped_keep
from .ts_dtp import TaskSpecificDynamicPruning

__all__ = ["METHODS", "PRUNING_CONFIG", "PRUNING_WEIGHTS", "Adjustment", "LayerState", "LearnedTokenPruning",
           "NoPruning", "PruningMethod", "Selection", "TaskSpecificDynamicPruning", "TopK", "TrainableMethod",
           "attention_received", "build_method", "geometric_keep", "shaped_keep", "has_method", "load_method", "save_method",
           "schedule_counts", "schedule_keep_ratio"]
