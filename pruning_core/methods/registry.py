"""Every pruning method by name, and building one from its name and settings, or from its declared controls."""
from __future__ import annotations

import inspect
from typing import Mapping

from .base import PruningMethod
from .controls import Value
from .ltp import LearnedTokenPruning
from .merge import TokenMerging
from .none import NoPruning
from .topk import TopK
from .ts_dtp import TaskSpecificDynamicPruning

METHODS: dict[str, type[PruningMethod]] = {
    NoPruning.name: NoPruning,
    TopK.name: TopK,
    LearnedTokenPruning.name: LearnedTokenPruning,
    TaskSpecificDynamicPruning.name: TaskSpecificDynamicPruning,
    TokenMerging.name: TokenMerging,
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


def control_values(name: str, values: Mapping[str, object] | None = None) -> dict[str, Value]:
    """Every control of method `name` at its value in `values`, else at its declared default; ValueError naming an
    unknown control or a value it does not allow."""
    controls = {control.name: control for control in method_class(name).controls()}
    given = dict(values or {})
    if unknown := sorted(set(given) - set(controls)):
        raise ValueError(f"{name} has no control {unknown[0]!r}; its controls: {', '.join(controls) or 'none'}.")
    return {key: control.check(given[key]) if key in given else control.default for key, control in controls.items()}


def build_from_controls(name: str, values: Mapping[str, object] | None = None, num_layers: int | None = None,
                        hidden_size: int | None = None) -> PruningMethod:
    """Make a method from its controls' values (those not given at their declared defaults), e.g.
    build_from_controls("topk", {"keep_ratio": 0.5}, num_layers=6)."""
    settings = method_class(name).settings_from_controls(control_values(name, values), num_layers)
    return build_method(name, num_layers, hidden_size, **settings)
