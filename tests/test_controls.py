"""Methods declare their controls (pruning_core.methods.controls: one range, step, default and URL key per setting);
dashboard.controls draws them, lists them in a view's URL and builds the method from them, for Live text, Image,
Compare and Classroom."""
from __future__ import annotations

import re
from functools import partial

import pytest

from lens_helpers import open_page, save_tiny_model
from dashboard import controls
from pruning_core.methods import (METHODS, Control, LearnedTokenPruning, NoPruning, TokenMerging, TopK,
                                  build_from_controls, control_values, geometric_keep)
from test_image_page import cifar, save_tiny_vit  # noqa: F401  (cifar: a fixture)

LIVE, IMAGE = "views/1_Live_text.py", "views/7_Image.py"
LAYERS = 4                                    # the tiny saved models'
TOPK = control_values("topk")                 # top-k's declared defaults
THRESHOLD = control_values("ltp")["threshold"]


# --- the declarations (library) ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_builds_from_its_declared_defaults_alone(name):
    method = build_from_controls(name, num_layers=LAYERS, hidden_size=32)
    assert method.name == name
    assert control_values(name) == {control.name: control.default for control in METHODS[name].controls()}


def test_the_declared_defaults_are_the_built_methods_settings():
    topk = build_from_controls("topk", num_layers=LAYERS)
    assert topk.keep_ratios == pytest.approx(geometric_keep(TOPK["keep_ratio"], LAYERS)) and topk.score == TOPK["score"]
    cascade = build_from_controls("topk", {"schedule": "cascade"}, num_layers=LAYERS)
    assert (cascade.r_max, cascade.alpha, cascade.keep_ratios) == (TOPK["r_max"], TOPK["alpha"], None)
    ltp = build_from_controls("ltp", num_layers=LAYERS)
    assert ltp.thresholds.tolist() == pytest.approx([THRESHOLD] * LAYERS) and ltp.mode == "hard"
    assert isinstance(build_from_controls("none"), NoPruning) and NoPruning.controls() == ()


@pytest.mark.parametrize("name, values, message", [
    ("topk", {"keep_ratio": 7}, "keep_ratio must be a number in [0.05, 1], got 7."),
    ("topk", {"alpha": True}, "alpha must be a number in [0.2, 4], got True."),
    ("topk", {"score": "loud"}, "score must be one of 'cls', 'received', got 'loud'."),
    ("topk", {"speed": 2}, "topk has no control 'speed'"),
    ("ltp", {"threshold": "0.5"}, "threshold must be a number in [0, 2], got '0.5'."),
    ("none", {"keep_ratio": 0.5}, "none has no control 'keep_ratio'; its controls: none."),
])
def test_a_bad_value_is_refused_naming_the_control_and_the_value(name, values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_from_controls(name, values, num_layers=LAYERS)


def test_a_declaration_whose_default_it_would_refuse_is_refused():
    with pytest.raises(ValueError, match=re.escape("keep must be a number in [0, 1], got 2.")):
        Control("keep", "Keep", 2, low=0.0, high=1.0)
    with pytest.raises(ValueError, match="needs choices, or a low and a high"):
        Control("keep", "Keep", 0.5)


# --- the one renderer: URL parameters -------------------------------------------------------------------------

@pytest.mark.parametrize("scope", [controls.TEXT, controls.IMAGE])
def test_every_declared_control_round_trips_through_its_url_parameter(scope):
    params = {param.key: param for param in controls.url_params(scope)}
    for kind in scope.kinds:
        for control in controls.declared(scope, kind):
            param = params[controls.control_key(scope, kind, control.name)]
            assert param.name == control.url_key
            values = control.stops or tuple(control.choices or ()) or (control.low, control.default, control.high)
            assert [param.parse(param.format(value)) for value in values] == list(values)


def test_the_url_keys_of_today_stay():
    assert [param.name for param in controls.url_params(controls.TEXT)] == [
        "method", "adjust", "threshold", "schedule", "score", "keep", "r_max", "alpha", "merge_r_max", "merge_alpha"]
    assert [param.name for param in controls.url_params(controls.IMAGE)] == ["method", "adjust", "score", "r_max",
                                                                             "alpha", "merge_r_max", "merge_alpha"]


# --- the one renderer: the pages start at the declared defaults ---------------------------------------------------

def test_live_text_starts_every_control_at_its_declared_default_and_builds_that_method(artifacts):
    save_tiny_model(artifacts, "b/baseline", method=NoPruning())       # keeps every token: the page starts on top-k
    app = open_page(LIVE)
    key = partial(controls.control_key, controls.TEXT, "topk")
    assert app.radio(key="method_kind").value == "topk"
    assert app.radio(key=key("schedule")).value == TOPK["schedule"]
    assert app.radio(key=key("score")).value == TOPK["score"]
    keep, declared = app.slider(key=key("keep_ratio")), TopK.controls()[2]
    assert (keep.value, keep.min, keep.max, keep.step) == (declared.default, declared.low, declared.high, declared.step)
    given, read = map(int, app.metric[3].value.split(" → "))
    assert read == build_from_controls("topk", num_layers=LAYERS).expected_counts(given, LAYERS)[-2]
    app.radio(key=key("schedule")).set_value("cascade").run()
    assert app.slider(key=key("r_max")).value == TOPK["r_max"] and app.slider(key=key("alpha")).value == TOPK["alpha"]
    app.radio(key="method_kind").set_value("ltp").run()
    threshold = app.select_slider(key=controls.control_key(controls.TEXT, "ltp", "threshold"))
    stops = LearnedTokenPruning.controls()[0].stops
    assert threshold.value == THRESHOLD and list(threshold.options) == [str(stop) for stop in stops]


def test_the_image_page_starts_on_the_cascading_top_k_at_its_declared_defaults(artifacts, cifar):  # noqa: F811
    save_tiny_vit(artifacts)
    app = open_page(IMAGE)
    key = partial(controls.control_key, controls.IMAGE, "topk")
    assert app.radio(key="image_kind").value == "topk" and app.radio(key=key("score")).value == TOPK["score"]
    assert app.slider(key=key("r_max")).value == TOPK["r_max"] and app.slider(key=key("alpha")).value == TOPK["alpha"]
    assert key("schedule") not in [radio.key for radio in app.radio]  # pictures: the study's cascading schedule only


# --- the one renderer: links ----------------------------------------------------------------------------------

def test_a_link_sets_every_control_and_the_url_writes_them_back(artifacts):
    save_tiny_model(artifacts)
    settings = {"method": "topk", "schedule": "cascade", "r_max": "0.3", "alpha": "1.5", "score": "received"}
    app = open_page(LIVE, text="the music was fun", **settings)
    key = partial(controls.control_key, controls.TEXT, "topk")
    assert (app.slider(key=key("r_max")).value, app.slider(key=key("alpha")).value) == (0.3, 1.5)
    assert app.radio(key=key("score")).value == "received"
    assert {name: app.query_params[name] for name in settings} == settings
    ltp = open_page(LIVE, text="the music was fun", method="ltp", threshold="1.25")
    assert ltp.select_slider(key=controls.control_key(controls.TEXT, "ltp", "threshold")).value == 1.25
    assert ltp.query_params["threshold"] == "1.25"
    merged = open_page(LIVE, text="the music was fun and the songs were great", method="merge", merge_r_max="0.5",
                       merge_alpha="0.5")
    key = partial(controls.control_key, controls.TEXT, "merge")
    assert (merged.slider(key=key("r_max")).value, merged.slider(key=key("alpha")).value) == (0.5, 0.5)
    given, read = map(int, merged.metric[3].value.split(" → "))
    assert read == TokenMerging(0.5, 0.5).expected_counts(given, LAYERS)[-2], "Live text merges as the link says"


def test_a_link_with_values_no_control_offers_says_so_and_shows_the_defaults(artifacts):
    save_tiny_model(artifacts)
    app = open_page(LIVE, text="fine words", method="ltp", threshold="0.3", schedule="weekly", alpha="9")
    note = next(warning.value for warning in app.warning if "could not all be used" in warning.value)
    assert all(f"`{given}`" in note for given in ("threshold=0.3", "schedule=weekly", "alpha=9"))
    assert app.select_slider(key=controls.control_key(controls.TEXT, "ltp", "threshold")).value == THRESHOLD
