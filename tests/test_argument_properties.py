"""Property-based checks of the library's arguments (Hypothesis): whatever a caller passes, a method, a model call or
a store reader either accepts it and works (a trace comes back) or refuses it at once with a ValueError that names
the argument; no other exception escapes, and nothing is refused that then works."""
from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import make_bert, make_tokenizer
from pruning_core import build_method, storage
from pruning_core.methods import LearnedTokenPruning, TopK
from pruning_core.text import PrunedTextClassifier

LAYERS = 3
ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=True),
                     st.text(max_size=4), st.lists(st.floats(-2, 2), max_size=5))
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.booleans(),
                    st.sampled_from(["0.5", None]))


@pytest.fixture(scope="module")
def classifier() -> PrunedTextClassifier:
    return PrunedTextClassifier(make_bert(num_layers=LAYERS), make_tokenizer())


def accepted_or_named(make, named: tuple[str, ...]):
    """The object `make` builds, or None when it refused with a ValueError naming one of `named`."""
    try:
        return make()
    except ValueError as error:
        assert any(name in str(error) for name in named), error
        return None


def traces(classifier: PrunedTextClassifier, method) -> None:
    """An accepted method prunes a text: a trace whose CLS survives every layer."""
    classifier.method = method
    trace = classifier.trace(["the film was great fun"])[0]
    assert trace.kept.shape[0] == LAYERS and trace.kept[:, 0].all()


@settings(max_examples=60)
@given(r_max=NUMBERS, alpha=NUMBERS)
def test_topk_cascade_settings_are_used_or_refused_by_name(classifier, r_max, alpha):
    method = accepted_or_named(lambda: build_method("topk", r_max=r_max, alpha=alpha), ("r_max", "alpha"))
    if method is not None:
        assert isinstance(r_max, (int, float)) and math.isfinite(r_max) and math.isfinite(alpha)
        traces(classifier, method)


@settings(max_examples=60)
@given(keep_ratios=ANYTHING)
def test_topk_keep_ratios_are_used_or_refused_by_name(classifier, keep_ratios):
    method = accepted_or_named(lambda: TopK(keep_ratios=keep_ratios), ("keep_ratios",))
    if method is not None and accepted_or_named(lambda: setattr(classifier, "method", method), ("layers",)) is None:
        assert len(method.keep_ratios) != LAYERS             # refused when attached: settings for another depth
    elif method is not None:
        traces(classifier, method)


@settings(max_examples=60)
@given(thresholds=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2)),
                           max_size=6), keep_lambda=NUMBERS)
def test_ltp_settings_are_used_or_refused_by_name(classifier, thresholds, keep_lambda):
    method = accepted_or_named(lambda: LearnedTokenPruning(len(thresholds) or 1, thresholds=thresholds or None,
                                                           keep_lambda=keep_lambda), ("thresholds", "keep_lambda"))
    if method is None:
        return
    if len(thresholds) not in (0, LAYERS) and thresholds:
        with pytest.raises(ValueError, match="layers"):      # three thresholds for a six-layer model: refused here
            classifier.method = method
    elif len(thresholds) == LAYERS:
        traces(classifier, method)


@settings(max_examples=40)
@given(max_length=ANYTHING)
def test_a_length_limit_is_used_or_refused_by_name(classifier, max_length):
    classifier.method = build_method("none")
    result = accepted_or_named(lambda: classifier.trace(["a fine film"], max_length=max_length), ("max_length",))
    if result is not None:
        assert isinstance(max_length, int) and max_length >= 2 and len(result[0].tokens) <= max_length


@settings(max_examples=25)
@given(method=ANYTHING, level=st.one_of(st.sampled_from(["example", "token"]), ANYTHING))
def test_a_store_reader_refuses_an_unknown_projection_or_level_by_name(method, level):
    assume(method not in storage.analyses.PROJECTION_METHODS or level not in ("example", "token"))
    with pytest.raises(ValueError, match="method|level") as refused:
        storage.projections("some-run", level=level, method=method, db="/nonexistent/lens.duckdb")
    assert repr(method if "method" in str(refused.value) else level) in str(refused.value)
