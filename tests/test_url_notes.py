"""A link's parameters never raise: every value a page refuses or changes gets one note naming the parameter, the
value given and the value used (dashboard.state), on every page, with property-based links (Hypothesis)."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lens_helpers import open_page, save_tiny_model
from dashboard import state
from dashboard.navigation import PAGES
from dashboard.ui import LIVE_URL
from test_image_page import cifar, save_tiny_vit  # noqa: F401 (a fixture)

LIVE, IMAGE, CLASSROOM = "views/1_Live_text.py", "views/7_Image.py", "views/8_Classroom.py"
# The hostile link: non-finite numbers and an index past the last picture.
HOSTILE = {"keep": "nan", "r_max": "nan", "alpha": "nan", "adjust": "inf", "picture": "99999999"}
NOTE = "could not all be used"


def url_note(app) -> str:
    notes = [warning.value for warning in app.warning if NOTE in warning.value]
    assert len(notes) == 1, [warning.value for warning in app.warning]   # one note, not one per check
    return notes[0]


# --- reading a link (no page) ---------------------------------------------------------------------------------

def test_a_link_is_read_into_values_and_notes_for_unknown_repeated_and_refused_parameters():
    values, notes = state.read_url(LIVE_URL, {"text": ["hi"], "keep": ["0.2", "0.4"], "unit": ["letters"],
                                              "colour": ["red"], "embed": ["true"], "hide": ["1"]})
    assert values == {"live_text": "hi", "text_topk_keep_ratio": 0.4, "hide_gone": True}
    by_name = {note.name: note for note in notes}
    assert set(by_name) == {"keep", "unit", "colour"}                 # Streamlit's own `embed` is not noted
    assert by_name["keep"].given == "0.2 / 0.4" and "2 times" in by_name["keep"].reason
    assert by_name["unit"].key == "unit" and "words, subwords" in by_name["unit"].reason
    assert by_name["colour"].key is None and "not a setting" in by_name["colour"].reason


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "", "0x1", "½", "1e999"])
def test_a_number_parameter_refuses_what_is_not_a_finite_number_in_range(raw):
    picture = state.UrlParam("picture", "image_index", int, low=0)
    adjust = state.UrlParam("adjust", "text_own_adjustment", float)
    keep = next(param for param in LIVE_URL if param.name == "keep")      # checked by top-k's declared control
    for param in (picture, adjust, keep):
        with pytest.raises(ValueError, match="must be"):
            param.parse(raw)


# --- every page, from the hostile link ------------------------------------------------------------------

@pytest.fixture
def models(artifacts, cifar):  # noqa: F811
    save_tiny_model(artifacts)
    save_tiny_vit(artifacts)
    return artifacts


@pytest.mark.parametrize("page", [page.file for page in PAGES])
def test_every_page_notes_each_hostile_value_with_what_it_used_and_raises_nothing(models, page):
    app = open_page(None if page == PAGES[0].file else page, **HOSTILE)     # open_page asserts no exception
    note = url_note(app)
    for name, value in HOSTILE.items():
        assert f"`{name}={value}`" in note
    linkable = next(info.linkable for info in PAGES if info.file == page)
    if linkable:    # the page's own settings say what they used instead; a parameter it does not take is ignored
        lines = [line for line in note.splitlines() if line.startswith("- ")]
        assert len(lines) == len(HOSTILE)
        assert all("; using `" in line or line.endswith("; ignored.") or line.endswith(": ignored.") for line in lines)
    else:
        assert note.count("ignored") == len(HOSTILE) and not dict(app.query_params)   # and the address is clean


def test_the_pages_say_which_picture_adjustment_and_setting_they_used(models):
    note = url_note(open_page(IMAGE, **HOSTILE))
    assert "`picture=99999999` does not fit here; using `0`" in note
    assert re.search(r"`r_max=nan` must be a number in \[[\d.]+, [\d.]+\], got nan; using `[\d.]+`", note)
    note = url_note(open_page(LIVE, method="own", adjust="inf", text="a fine film"))
    assert "`adjust=inf` must be a finite number; using `1`" in note      # the LTP model's own thresholds, as saved
    note = url_note(open_page(LIVE, method="own", adjust="7", text="a fine film"))
    assert "`adjust=7` does not fit here; using `1`" in note              # past the model's own range


def test_a_second_run_of_the_page_does_not_repeat_the_note(models):
    app = open_page(LIVE, keep="nan", text="a fine film")
    assert url_note(app)
    app.run()
    assert not any(NOTE in warning.value for warning in app.warning)


# --- property-based links ---------------------------------------------------------------------------------------

NAMES = st.sampled_from(["text", "model", "method", "adjust", "threshold", "schedule", "score", "keep", "r_max",
                         "alpha", "unit", "hide", "layer", "game", "mode", "picture", "zoom", "Keep"])
VALUES = st.one_of(
    st.sampled_from(["nan", "-inf", "inf", "1e308", "-1", "0", "0.5", "1", "2", "99999999", "true", "topk", "own",
                     "ltp", "none", "cascade", "ratio", "received", "words", "", " ", "%00", "<b>x</b>", "`x`"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12))
QUERIES = st.dictionaries(NAMES, VALUES, max_size=5)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=QUERIES, page=st.sampled_from([LIVE, IMAGE, CLASSROOM]))
def test_any_link_opens_its_page_and_each_value_is_used_or_noted(models, query, page):
    app = open_page(page, **query)                                   # asserts that no exception escaped
    notes = " ".join(warning.value for warning in app.warning if NOTE in warning.value)
    written = dict(app.query_params)
    for name, value in query.items():    # each value is in the page's own link as given, or the note names it
        assert same_value(written.get(name), value) or f"`{name}=" in notes, (name, value, written, notes)


def same_value(written: str | None, given: str) -> bool:
    """The link's text of a value the page used as given (numbers and booleans may be spelt otherwise)."""
    if written is None:
        return False
    spelt = {"true": "1", "false": "0"}
    if spelt.get(given.lower(), given) == written:
        return True
    try:
        return float(written) == float(given)
    except ValueError:
        return False
