"""Every pruning method by name, and building one from its name and settings."""
from __future__ import annotations

import inspect

from .base import PruningMethod
from .ltp import LearnedTokenPruning
from .none import NoPruning
from .topk import TopK
from .ts_dtp import TaskSpecificDynamicPruning

METHODS: dict[str, type[PruningMethod]] = {
    NoPruning.name: NoPruning,
    TopK.name: TopK,
    LearnedTokenPruning.name: LearnedTokenPruning,
    TaskSpecificDynamicPruning.name: TaskSpecificDynamicPruning,
}


def build_method(name: str, num_layers: int | None = None, hidden_size: int | None = None,
                 **config) -> PruningMethod:
    """Make a method by name, e.g. build_method("topk", keep_ratios=[1, 1, .5, .5]).

    num_layers and hidden_size (the model's) are passed on to the methods that need them."""
    cls = method_class(name)
    accepted = inspect.signature(cls).parameters
    for key, value in (("num_layers", num_layers), ("hidden_size", hidden_size)):
        if key in accepted and value is not None:
            config.setdefault(key, value)
    return cls(**config)


def method_class(name: str) -> type[PruningMethod]:
    """The class of the method called `name`."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"Unknown pruning method {name!r}; available: {', '.join(METHODS)}.") from None
