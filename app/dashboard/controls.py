"""The one renderer of pruning methods' controls, for Live text, Image, Compare and Classroom.

A method declares its settings (`PruningMethod.controls()`; a trained model's own turnable setting is its
`Adjustment.control`); from those declarations alone this module draws the widgets, lists a view's URL
parameters and builds the method (`build_from_controls`). A `Scope` says which methods a view offers, under which
widget keys, and which settings it leaves out; it never restates a range, a step or a default.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Mapping

import streamlit as st

from pruning_core.classifier import PrunedClassifier
from pruning_core.methods import METHODS, Control, PruningMethod, build_from_controls

from . import state

OWN = "own"   # the method saved with the model
KIND_LABELS = {OWN: "The model's own", "ltp": "LTP (one threshold)", "topk": "Top-k", "merge": "Token merging",
               "none": "None (keep every token)"}


@dataclass(frozen=True)
class Scope:
    """Where a method is picked: views sharing a scope share its settings (Live text and Classroom's text view)."""

    name: str                        # widget keys start with it: "text_topk_keep_ratio"
    kinds: tuple[str, ...]           # the methods offered, in menu order
    preferred: tuple[str, ...]       # the picker starts on the first of these the model offers
    kind_key: str = ""               # the method picker's session key ("": no picker)
    kind_label: str = "Pruning method"
    model_key: str = ""              # the model picker's key: the own method's setting starts over with another model
    fixed: Mapping[str, Mapping[str, object]] = field(default_factory=dict)   # per method: settings not offered here


TEXT = Scope("text", (OWN, "ltp", "topk", "merge", "none"), (OWN, "topk"), "method_kind", "Pruning method",
             "model_key")
# Pictures: top-k by the vision study's cascading schedule (r_max, α), or merging to the same counts; no LTP without
# learned thresholds.
IMAGE = Scope("image", ("topk", "merge", OWN, "none"), ("topk",), "image_kind", "Pruning", "image_model",
              {"topk": {"schedule": "cascade"}})
COMPARE = Scope("compare", ("topk",), ("topk",))


# --- what a scope offers (no Streamlit) ---------------------------------------------------------------------------

def available_kinds(scope: Scope, own: PruningMethod) -> list[str]:
    """The methods a model offers here: its own only when it prunes."""
    return [kind for kind in scope.kinds if kind != OWN or own.removes_tokens]


def default_kind(scope: Scope, own: PruningMethod) -> str:
    """Where the picker starts: the first preferred method the model offers (Live text: the model's own, else top-k)."""
    offered = available_kinds(scope, own)
    return next(kind for kind in scope.preferred if kind in offered)


def declared(scope: Scope, kind: str, own: PruningMethod | None = None) -> tuple[Control, ...]:
    """The controls this scope draws for `kind` (the own method: its adjustment, if any): not the fixed ones, nor
    those the fixed ones rule out (the image scope's cascading schedule has no keep ratio)."""
    if kind == OWN:
        adjustment = None if own is None else own.adjustment()
        return () if adjustment is None else (adjustment.control,)
    fixed = scope.fixed.get(kind, {})
    return tuple(control for control in METHODS[kind].controls() if control.name not in fixed
                 and (control.applies_when is None or control.applies_when[0] not in fixed or control.applies(fixed)))


def control_key(scope: Scope, kind: str, name: str) -> str:
    """The session key of a control's widget."""
    return f"{scope.name}_{kind}_{name}"


def offered(control: Control, value: object) -> object:
    """The value when the control's widget can show it (checked, and one of its stops where it has stops)."""
    value = control.check(value)
    if control.stops and value not in control.stops:
        raise ValueError(f"{control.name} must be one of {', '.join(f'{stop:g}' for stop in control.stops)}, "
                         f"got {value!r}.")
    return value


def url_params(scope: Scope) -> tuple[state.UrlParam, ...]:
    """The scope's settings in a URL: `method`, then each offered method's controls under their declared URL keys
    (the own method's adjustment as `adjust`, checked against the model's range when drawn)."""
    params = [state.UrlParam("method", scope.kind_key, choices=scope.kinds)] if scope.kind_key else []
    if OWN in scope.kinds:
        params.append(state.UrlParam("adjust", control_key(scope, OWN, "adjustment"), float))
    for kind in scope.kinds:
        params += [state.UrlParam(control.url_key, control_key(scope, kind, control.name),
                                  float if control.kind == "float" else str, check=partial(offered, control))
                   for control in declared(scope, kind)]
    names = [param.name for param in params]
    if len(set(names)) != len(names):
        raise ValueError(f"scope {scope.name!r} has two settings under one URL key: {names}.")
    return tuple(params)


def build(kind: str, values: Mapping[str, object], own: PruningMethod, num_layers: int) -> PruningMethod:
    """The method the controls describe; `own` is the one saved with the model (adjusted when its value is given)."""
    if kind == OWN:
        adjustment = own.adjustment()
        return own if adjustment is None or "adjustment" not in values else adjustment.apply(values["adjustment"])
    return build_from_controls(kind, values, num_layers)


# --- widgets ------------------------------------------------------------------------------------------------------

def method_sidebar(scope: Scope, classifier: PrunedClassifier) -> PruningMethod:
    """The method picker and the chosen method's controls in the sidebar; the method they describe."""
    sidebar, own = st.sidebar, classifier.method
    kinds = available_kinds(scope, own)
    state.valid_choice(scope.kind_key, kinds)
    st.session_state.setdefault(scope.kind_key, default_kind(scope, own))
    kind = sidebar.radio(scope.kind_label, kinds, format_func=KIND_LABELS.get, key=scope.kind_key)
    if kind == OWN:
        sidebar.caption(own.describe())
        _forget_another_models_adjustment(scope)
    return build(kind, draw(sidebar, scope, kind, own), own, classifier.num_layers)


def draw(where, scope: Scope, kind: str, own: PruningMethod | None = None) -> dict[str, object]:
    """The controls of method `kind` that apply (r_max only with the cascading schedule), drawn in `where`; their
    values, with the scope's fixed ones."""
    values = dict(scope.fixed.get(kind, {}))
    for control in declared(scope, kind, own):
        if control.applies(values):
            values[control.name] = widget(where, control, control_key(scope, kind, control.name))
    return values


def widget(where, control: Control, key: str) -> object:
    """One control's widget in `where`, starting at its default (or at the value stored under `key`)."""
    _start_valid(control, key)
    help_text = control.help or None
    if control.kind == "choice":
        return where.radio(control.label, list(control.choices), format_func=control.choices.get, key=key,
                           horizontal=True, help=help_text)
    if control.stops:
        return where.select_slider(control.label, control.stops, key=key, help=help_text)
    whole = control.on_steps and float(control.step).is_integer()     # counts and widths read as whole numbers
    return where.slider(control.label, control.low, control.high, step=control.step, key=key, help=help_text,
                        format="%.0f" if whole else None)


def _start_valid(control: Control, key: str) -> None:
    """A stored value the widget cannot show (another model's setting, a stale one) starts over at the default."""
    if key in st.session_state:
        try:
            offered(control, st.session_state[key])
        except ValueError:
            del st.session_state[key]
    st.session_state.setdefault(key, control.default)


def _forget_another_models_adjustment(scope: Scope) -> None:
    """The own method's setting belongs to one model: with another model it starts over at its default."""
    model, seen = st.session_state.get(scope.model_key), f"_adjusted_{scope.name}"
    if st.session_state.setdefault(seen, model) != model:
        st.session_state.pop(control_key(scope, OWN, "adjustment"), None)
        st.session_state[seen] = model
