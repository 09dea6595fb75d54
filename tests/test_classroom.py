"""The Classroom page (views/8_Classroom.py): one layer at a time for a projector, autoplay, the guessing game, its
link; and what it calls (dashboard.classroom, figures.classroom). Tiny models in a temporary artifacts folder."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from lens_helpers import APP_ENTRY, open_page, save_tiny_model, word_trace
from dashboard import classroom, classroom_ui, share_ui
from dashboard.classroom import Lesson
from dashboard.figures import classroom as drawn
from dashboard.live import EXAMPLES
from pruning_core.text.examples import Example
from pruning_core.methods import TopK
from test_image_page import TOKENS as VIT_TOKENS, cifar, save_tiny_vit  # noqa: F401

CLASSROOM = "views/8_Classroom.py"
SENTENCE = "the movie was great , i love the story and the music ."
LAYERS = 4          # the tiny BERT's


@pytest.fixture
def model(artifacts) -> Path:
    return save_tiny_model(artifacts, metrics={"label_names": ["negative", "positive"]})


def open_classroom(**params: str) -> AppTest:
    """The Classroom page, opened from a link carrying `params` when given."""
    return open_page(CLASSROOM, **params)


def html_of(app: AppTest) -> str:
    return "".join(element.proto.body for element in app.html)


def shown_step(app: AppTest) -> str:
    return re.search(r'<div class="tpc-step">([^<]*)</div>', html_of(app)).group(1)


def tokens_left(app: AppTest) -> int:
    return int(re.search(r'<div class="tpc-count">(\d+) <small>', html_of(app)).group(1))


def word_classes(app: AppTest) -> dict[str, str]:
    """Each word of the stage's text and how it is drawn (the last occurrence of a repeated word)."""
    words = html_of(app).split('<div class="tpc-words" dir="auto">')[-1]
    return {text: kind for kind, text in re.findall(r'<span class="tpc-(\w+)">([^<]*)</span>', words)}


def step(app: AppTest, key: str) -> AppTest:
    app.button(key=key).click().run()
    assert not app.exception, app.exception
    return app


# --- the service and the drawing ------------------------------------------------------------------------------

GAME_TRACE = word_trace(["The", "best", "<b>soup</b>", ",", "the", "best", "view"],
                        kept=[[True, True, True, False, True, True, False],
                              [False, True, True, False, True, False, False]])


def test_word_choices_are_the_words_once_each_without_punctuation():
    assert classroom.word_choices(GAME_TRACE) == ["The", "best", "<b>soup</b>", "the", "view"]
    # The classifier reads what is alive on entry to the last layer (here layer 2): "The", dropped by the last layer,
    # was read; "view" was dropped at layer 1; "," is not a choice
    assert classroom.survivors(GAME_TRACE) == ["The", "best", "<b>soup</b>", "the"]
    assert Lesson(GAME_TRACE).read_step == 1


def test_a_guess_is_scored_against_the_words_the_classifier_read():
    score = classroom.score_guess(["best", "view", "The", "not-in-the-text"], GAME_TRACE)
    assert score.overlap == pytest.approx(2 / 5)              # {best, The} out of {best, view, The, <b>soup</b>, the}
    assert score.precision == pytest.approx(2 / 3) and score.recall == pytest.approx(2 / 4)
    assert score.dropped == ["view"] and score.missed == ["<b>soup</b>", "the"]
    perfect = classroom.score_guess(["the", "<b>soup</b>", "best", "The"], GAME_TRACE)
    assert (perfect.overlap, perfect.precision, perfect.recall, perfect.dropped, perfect.missed) == (1, 1, 1, [], [])
    empty = classroom.score_guess([], GAME_TRACE)
    assert empty.overlap == 0 and empty.precision is None and empty.recall == 0
    assert empty.missed == ["The", "best", "<b>soup</b>", "the"]


def test_pill_labels_show_a_word_as_typed_not_as_markdown():
    assert classroom_ui.as_plain_text("**bold**") == r"\*\*bold\*\*"
    assert classroom_ui.as_plain_text(":red[x] $y$ a_b") == r"\:red\[x\] \$y\$ a\_b"
    assert classroom_ui.as_plain_text("שלום 😀") == "שלום 😀"


def test_the_running_score_and_the_next_round_text():
    assert classroom.tally_line([]) == "No round played yet."
    assert classroom.tally_line([0.5, 1.0, 0.25]) == "3 rounds played · average overlap 58% · best 100% · last 25%"
    examples = [Example(name, name, dataset, label) for name, dataset, label in (
        ("a", "imdb", "positive"), ("w", "ag_news", "World"), ("b", "imdb", "negative"), ("c", "imdb", "positive"))]
    texts = [classroom.next_example(text, examples) for text in ("a", "b", "c", "w", "my own")]
    assert texts == ["b", "c", "a", "w", "a"]       # the next of the same dataset, so the model still fits it


def test_the_projector_view_fades_words_layer_by_layer_and_escapes_them():
    kinds = [re.findall(r'class="tpc-(\w+)">([^<]*)<', drawn.words_html(GAME_TRACE, step)) for step in (0, 1, 2)]
    assert {kind for kind, _ in kinds[0]} == {"kept"}                              # the input: every word
    assert ("dropped", ",") in kinds[1] and ("kept", "The") in kinds[1]
    assert ("dropped", "The") in kinds[2] and ("gone", ",") in kinds[2] and ("dropped", "view") not in kinds[2]
    assert "<b>soup" not in drawn.words_html(GAME_TRACE, 1) and "&lt;b&gt;soup" in drawn.words_html(GAME_TRACE, 1)
    head = drawn.header_html(2, 4, 7, 9, "<i>pos</i>", 0.734)
    assert "Layer 2 of 4" in head and ">7 <small>of 9 tokens left" in head and "&lt;i&gt;pos" in head and "73%" in head


# --- the page: stepping through the layers --------------------------------------------------------------------

def test_the_stage_steps_through_the_layers_with_previous_and_next(model):
    app = open_classroom(text=SENTENCE, method="topk", keep="0.3")
    assert shown_step(app) == "Input" and tokens_left(app) == 15 and set(word_classes(app).values()) == {"kept"}
    assert app.button(key="do_class_back").proto.disabled
    counts = []
    for layer in range(1, LAYERS + 1):
        step(app, "do_class_next")
        assert shown_step(app) == f"Layer {layer} of {LAYERS}" and app.query_params["layer"] == str(layer)
        counts.append(tokens_left(app))
    assert counts == sorted(counts, reverse=True) and counts[-1] == 4          # geometric top-k to 30% of 15
    assert app.button(key="do_class_next").proto.disabled
    assert "dropped" in word_classes(app).values() and "gone" in word_classes(app).values()
    step(app, "do_class_back")
    assert shown_step(app) == f"Layer {LAYERS - 1} of {LAYERS}"
    app.segmented_control(key="class_layer").set_value(0).run()
    assert shown_step(app) == "Input"
    assert "negative" in html_of(app) or "positive" in html_of(app)            # the answer and its confidence
    assert "% sure" in html_of(app)


def test_the_buttons_have_the_arrow_keys_and_p_as_shortcuts(model):
    app = open_classroom(text=SENTENCE)
    shortcuts = {key: app.button(key=key).proto.shortcut for key in ("do_class_back", "do_class_next", "do_class_play")}
    assert shortcuts == {"do_class_back": "left", "do_class_next": "right", "do_class_play": "p"}


def test_play_steps_one_layer_per_tick_and_stops_at_the_last(model):
    app = open_classroom(text=SENTENCE, layer="2")
    step(app, "do_class_play")
    assert shown_step(app) == f"Layer 2 of {LAYERS}" and app.button(key="do_class_play").label == "Pause"
    app.run()                                    # a tick of the fragment's timer (AppTest runs the whole page)
    assert shown_step(app) == f"Layer 3 of {LAYERS}"
    app.run()
    assert shown_step(app) == f"Layer {LAYERS} of {LAYERS}" and app.button(key="do_class_play").label == "Play"
    app.run()
    assert shown_step(app) == f"Layer {LAYERS} of {LAYERS}"                   # stopped
    step(app, "do_class_play")                   # at the end, Play starts over from the input
    assert shown_step(app) == "Input"
    step(app, "do_class_play")                   # and Pause stops it
    app.run()
    assert shown_step(app) == "Input" and app.button(key="do_class_play").label == "Play"


# --- the guessing game ----------------------------------------------------------------------------------------

def test_the_game_hides_the_layers_scores_the_guess_and_keeps_a_running_score(model):
    app = open_classroom(text=SENTENCE, method="topk", keep="0.3", game="1")
    assert 'class="tpc-head"' not in html_of(app)                                      # nothing revealed yet
    pills = app.pills(key="class_guess")
    assert pills.options == ["the", "movie", "was", "great", "i", "love", "story", "and", "music"]
    pills.set_value(["movie", "great", "music"]).run()
    step(app, "do_class_reveal")
    assert shown_step(app) == "Input"                                          # the stage, from the input
    body = html_of(app)
    overlap = int(re.search(r"Overlap <b>(\d+)%</b>", body).group(1))
    assert any(f"({drawn.step_label(LAYERS - 1, LAYERS)})" in caption.value for caption in app.caption)
    app.segmented_control(key="class_layer").set_value(LAYERS - 1).run()    # what the classifier reads
    words = html_of(app).split('<div class="tpc-words" dir="auto">')[-1]
    kept = {text for kind, text in re.findall(r'<span class="tpc-(\w+)">([^<]*)</span>', words) if kind == "kept"}
    kept -= {","}                                                              # punctuation is no choice
    expected = len({"movie", "great", "music"} & set(kept)) / len({"movie", "great", "music"} | set(kept))
    assert overlap == round(100 * expected)                       # scored against what the classifier read
    assert any("1 round played" in caption.value for caption in app.caption)
    step(app, "do_class_new_round")
    assert app.text_area(key="class_text").value == EXAMPLES[0].text          # on to an example
    assert app.pills(key="class_guess").value == [] and 'class="tpc-head"' not in html_of(app)
    step(app, "do_class_reveal")                                               # an empty guess is a round too
    assert any("2 rounds played" in caption.value for caption in app.caption)
    step(app, "do_class_reset")
    assert any("No round played yet" in caption.value for caption in app.caption)


def test_a_guess_from_another_text_is_dropped_when_the_text_changes(model):
    app = open_classroom(text=SENTENCE, game="1")
    app.pills(key="class_guess").set_value(["movie", "story"]).run()
    app.text_area(key="class_text").input("the story was bad").run()
    assert not app.exception and app.pills(key="class_guess").value == ["story"]


def test_the_game_on_a_text_of_punctuation_only_says_so(model):
    app = open_classroom(text="! ? , .", game="1")
    assert any("no words to guess" in info.value for info in app.info) and 'class="tpc-head"' in html_of(app)


# --- links, bad input -----------------------------------------------------------------------------------------

def test_the_share_link_reopens_the_same_view(model, monkeypatch):
    monkeypatch.setattr(share_ui, "current_address", lambda page: f"http://class.example:8501/{page}")
    app = open_classroom(text="a great <b>film</b> & שלום 😀", method="topk", keep="0.5", layer="3")
    link = app.code[0].value
    assert link.startswith("http://class.example:8501/Classroom?") and "%3Cb%3E" in link
    assert app.image[0].captions == ["Scan with a phone to open this view"]   # the QR code
    reopened = open_classroom(**dict(parse_qsl(urlsplit(link).query)))
    assert shown_step(reopened) == shown_step(app) == f"Layer 3 of {LAYERS}"
    assert word_classes(reopened) == word_classes(app) and tokens_left(reopened) == tokens_left(app)
    assert reopened.text_area(key="class_text").value == "a great <b>film</b> & שלום 😀"


def test_a_link_with_wrong_values_says_so_and_the_page_still_works(model):
    app = open_classroom(mode="movies", layer="-2", game="maybe", method="magic", model="no/such", text=SENTENCE)
    note = next(warning.value for warning in app.warning if "could not all be used" in warning.value)
    assert all(f"`{given}`" in note for given in ("mode=movies", "layer=-2", "game=maybe", "method=magic"))
    assert "`model=no/such` does not fit here; using `tiny/ltp_hard`" in note
    assert shown_step(app) == "Input"
    deeper = open_classroom(text=SENTENCE, layer="9")                              # valid, but this model has 4 layers
    assert any("has 4 layers, so layer 9 cannot be shown" in warning.value for warning in deeper.warning)
    step(deeper, "do_class_next")
    assert shown_step(deeper) == f"Layer 1 of {LAYERS}"


@pytest.mark.parametrize("text, shown", [("", None), ("   \n ", None),
                                         ('<script>alert(1)</script> <img src=x onerror=alert(1)> great', "&lt;"),
                                         ("great \u200b\u202e film שלום مرحبا 😀", "😀")])
def test_empty_markup_and_odd_unicode_texts(model, text, shown):
    app = open_classroom(text=text)
    if shown is None:
        assert any("Type or paste" in info.value for info in app.info) and 'class="tpc-head"' not in html_of(app)
    else:
        body = html_of(app)
        assert shown in body and "<script>" not in body and "<img" not in body and 'dir="auto"' in body


def test_a_long_text_is_cut_with_a_notice_and_its_link_reopens_it(model, monkeypatch):
    monkeypatch.setattr(share_ui, "current_address", lambda page: f"http://class.example/{page}")
    app = open_classroom()
    app.text_area(key="class_text").input("the film was fun . " * 200).run()      # 3,800 characters
    assert any(f"reads at most {classroom.MAX_TOKENS} tokens" in warning.value for warning in app.warning)
    assert tokens_left(app) == classroom.MAX_TOKENS
    assert app.query_params["text"].startswith("~") and app.query_params["mode"] == "text"   # kept on the server
    reopened = open_classroom(**dict(app.query_params))
    assert reopened.text_area(key="class_text").value == app.text_area(key="class_text").value


# --- pictures -------------------------------------------------------------------------------------------------

def test_a_picture_greys_its_patches_layer_by_layer(artifacts, cifar, monkeypatch):  # noqa: F811
    save_tiny_vit(artifacts)
    monkeypatch.setattr(share_ui, "current_address", lambda page: f"http://class.example/{page}")
    app = open_classroom(mode="picture", picture="2", method="topk", r_max="0.9", alpha="1")
    assert shown_step(app) == "Input" and tokens_left(app) == VIT_TOKENS
    first = app.image[0].proto.imgs[0].url
    step(app, "do_class_next")
    assert tokens_left(app) < VIT_TOKENS and app.image[0].proto.imgs[0].url != first
    assert any(text.value.startswith("True label: ") for text in app.text)
    assert app.number_input(key="image_index").value == 2 and app.query_params["picture"] == "2"
    assert "mode=picture" in app.code[0].value and "picture=2" in app.code[0].value
    app.sidebar.radio(key="class_mode").set_value("text").run()                # and back to a text
    assert not app.exception and "picture" not in app.query_params


def test_picture_mode_without_a_vit_points_to_the_image_page(artifacts):
    save_tiny_model(artifacts)
    app = open_classroom(mode="picture")
    assert any("No trained Vision Transformer" in info.value for info in app.info)
    assert 'class="tpc-head"' not in html_of(app)


def test_the_classroom_is_a_page_of_the_app(model):
    app = AppTest.from_file(APP_ENTRY, default_timeout=60)
    app.run()
    assert any("Classroom" in link.proto.label for link in app.get("page_link"))


def test_the_text_method_comes_from_live_texts_controls(model):
    """The Classroom's text method comes from Live text's controls: top-k to 50% ends where Live text does."""
    app = open_classroom(text=SENTENCE, method="topk", keep="0.5", layer=str(LAYERS))
    assert tokens_left(app) == 7 == TopK.geometric(0.5, LAYERS).expected_counts(15, LAYERS)[-1]
