"""Every view can be shared: a text too long for a URL is kept on the server under a content id that its link carries
(dashboard.stored_inputs, state.UrlParam.store), and the link reopens it; a bad id gets a note, never a traceback."""
from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

import pytest

from lens_helpers import open_page, save_tiny_model
from dashboard import state, stored_inputs
from dashboard.live import MAX_INPUT_CHARS
from dashboard.stored_inputs import PICTURES, TEXTS, Shelf
from pruning_core import paths
from test_share_export import address  # noqa: F401

LIVE = "views/1_Live_text.py"
CLASSROOM = "views/8_Classroom.py"
LONG = "the film was great , the music was fun and the story was good . " * 40     # 2,600 characters
TEXT = state.UrlParam("text", "live_text", store=TEXTS)


def query_of(link: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(link).query))


# --- the store ------------------------------------------------------------------------------------------------

def test_a_text_is_kept_once_under_its_content_id(artifacts):
    content_id = TEXTS.save(LONG)
    assert TEXTS.save(LONG) == content_id and len(content_id) == stored_inputs.ID_LENGTH
    assert TEXTS.save(LONG + "!") != content_id
    assert TEXTS.load(content_id) == LONG
    kept = sorted(path.name for path in paths.shared_inputs_dir().iterdir())
    assert kept == sorted([f"{content_id}.txt", f"{TEXTS.save(LONG + '!')}.txt"])   # no temporary file left behind


def test_the_store_forgets_the_least_recently_saved_beyond_its_limit(artifacts, monkeypatch):
    monkeypatch.setattr(stored_inputs, "KEPT_FILES", 2)
    first, second = TEXTS.save(LONG + "1"), TEXTS.save(LONG + "2")
    os.utime(paths.shared_inputs_dir() / f"{first}.txt", (1, 1))       # saved long ago...
    os.utime(paths.shared_inputs_dir() / f"{second}.txt", (2, 2))
    assert TEXTS.save(LONG + "1") == first                             # ...but saved again now
    third = TEXTS.save(LONG + "3")
    assert {path.stem for path in paths.shared_inputs_dir().glob("*.txt")} == {first, third}
    with pytest.raises(ValueError, match="names no text saved"):
        TEXTS.load(second)


def test_a_text_past_the_app_cap_is_kept_as_the_part_the_app_reads(artifacts):
    novel = "".join(f"sentence {i} of a very long review . " for i in range(2000))[:50_000]
    assert TEXTS.load(TEXTS.save(novel)) == novel[:MAX_INPUT_CHARS]
    odd = "😀 שלום \u200b\x00 " * 10 + "\ud800"          # emoji, right-to-left, zero-width, NUL, a lone surrogate
    assert TEXTS.load(TEXTS.save(odd)) == odd


@pytest.mark.parametrize("bad, reason", [("", "is not the id"), ("../../etc/passwd", "is not the id"),
                                         ("ABCDEF0123456789ABCD", "is not the id"), ("0" * 21, "is not the id"),
                                         ("0" * 20, "names no text saved")])
def test_a_malformed_or_unknown_id_is_refused_with_a_reason(artifacts, bad, reason):
    with pytest.raises(ValueError, match=reason):
        TEXTS.load(bad)


def test_pictures_are_kept_by_content_id_up_to_the_upload_limit(tmp_path):
    shelf = Shelf(".picture", 100, "picture", tmp_path)
    content_id = shelf.save(b"\x89PNG" + bytes(range(50)))
    assert shelf.load(content_id) == b"\x89PNG" + bytes(range(50)) and shelf.check(content_id) == content_id
    with pytest.raises(ValueError, match="over the 100 kept"):
        shelf.save(bytes(101))
    with pytest.raises(ValueError, match="names no picture"):
        shelf.check("f" * 20)
    assert PICTURES.max_bytes >= 5 * 2**20


# --- the URL text ---------------------------------------------------------------------------------------------

def test_a_long_text_travels_as_a_reference_and_plain_texts_never_read_as_one(artifacts):
    reference = TEXT.format(LONG)
    assert reference == "~" + TEXTS.save(LONG) and TEXT.is_stored(reference) and TEXT.parse(reference) == LONG
    for plain in ("~hi", "~~", "~" + TEXTS.save(LONG), "a ~ b", "x" * state.MAX_URL_TEXT):
        written = TEXT.format(plain)
        assert not TEXT.is_stored(written) and TEXT.parse(written) == plain
    model = state.UrlParam("model", "model_key")          # no store: a long value stays out, "~" means nothing
    assert model.format("x" * (state.MAX_URL_TEXT + 1)) is None and model.parse("~abc") == "~abc"


def test_a_store_that_cannot_write_leaves_the_text_out_of_the_url():
    class Full:
        def save(self, text: str) -> str:
            raise OSError("No space left on device")

        def load(self, content_id: str) -> str:
            raise ValueError("names no text saved on this server")

    assert state.UrlParam("text", "live_text", store=Full()).format(LONG) is None


# --- the pages ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [LONG, "".join(f"line {i} of a long review . " for i in range(3000))[:50_000]])
def test_live_text_shares_a_long_text_and_the_link_reopens_it(artifacts, address, text):  # noqa: F811
    save_tiny_model(artifacts)
    app = open_page(LIVE, method="topk", keep="0.5")
    app.text_area(key="live_text").input(text).run()
    link = app.code[0].value
    query = query_of(link)
    assert TEXT.is_stored(query["text"]) and len(link) < 200 and "keep=0.5" in link
    assert any("saved on this server" in caption.value for caption in app.caption)
    assert app.image[-1].captions == ["Scan with a phone to open this view"]            # short enough for a QR code
    reopened = open_page(LIVE, **query)
    assert reopened.text_area(key="live_text").value == text[:MAX_INPUT_CHARS]
    assert reopened.metric[3].value == app.metric[3].value
    assert not any("could not all be used" in warning.value for warning in reopened.warning)


@pytest.mark.parametrize("given, reason", [("~" + "0" * 20, "names no text saved on this server"),
                                           ("~not-an-id", "is not the id of a saved text")])
def test_a_link_to_a_missing_text_gets_a_note_and_the_default_text(artifacts, given, reason):
    save_tiny_model(artifacts)
    app = open_page(LIVE, text=given, keep="0.5")
    notes = [warning.value for warning in app.warning if "could not all be used" in warning.value]
    assert len(notes) == 1 and reason in notes[0] and "`text=~" in notes[0]
    assert not (app.text_area(key="live_text").value or "").startswith("~")


def test_classroom_shares_a_long_text_too(artifacts, address):  # noqa: F811
    save_tiny_model(artifacts)
    app = open_page(CLASSROOM, mode="text")
    app.text_area(key="class_text").input(LONG).run()
    query = query_of(app.code[0].value)
    assert TEXT.is_stored(query["text"])
    reopened = open_page(CLASSROOM, **query)
    assert reopened.text_area(key="class_text").value == LONG
