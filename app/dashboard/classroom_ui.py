"""The Classroom page's widgets: the text or picture to show, the stage that steps through the layers (buttons,
arrow keys, autoplay) and the guessing game. Models and pruning come from the same pickers and cache as Live text
and Image (ui, image_ui); what is computed lives in dashboard.classroom, what is drawn in figures.classroom.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Callable, Sequence

import streamlit as st

from pruning_core.methods import PruningMethod
from pruning_core.text import PrunedTextClassifier
from pruning_core.trace import ExampleTrace
from pruning_core.vision import PrunedVisionClassifier

from . import catalog, classroom, controls, image_ui, pictures, state, stored_inputs, ui
from .classroom import Lesson
from .figures import classroom as drawn
from .live import EXAMPLES, classify_live

VIEW = "classroom"
MODES = {"text": "A text", "picture": "A picture"}
LAYER, GAME, GUESS, TEXT = "class_layer", "class_game", "class_guess", "class_text"
# Not settings (a leading "_": never re-assigned, never in a URL): the game's rounds and the autoplay.
PLAYING, FRESH, RESTART = "_class_playing", "_class_fresh", "_class_restart"
REVEALED, GUESSED, SCORES = "_class_revealed", "_class_guessed", "_class_scores"

_COMMON = (state.UrlParam("mode", "class_mode", choices=tuple(MODES)),
           state.UrlParam("layer", LAYER, int, low=0, high=64),
           state.UrlParam("game", GAME, bool))
# The text view carries Live text's model and method settings, the picture view the Image page's.
TEXT_URL = (*_COMMON, state.UrlParam("text", TEXT, store=stored_inputs.TEXTS),
            *(param for param in ui.LIVE_URL if param.name not in ("text", "unit", "hide")))
PICTURE_URL = (*_COMMON, *(param for param in image_ui.IMAGE_URL if param.name != "view"))
PAGE_PATH = "Classroom"
# Streamlit renders pill labels as Markdown: a backslash before each of these shows a typed word as typed.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:<>$&])")


def url_params(mode: str) -> tuple[state.UrlParam, ...]:
    return PICTURE_URL if mode == "picture" else TEXT_URL


def url_mode() -> str:
    """The mode a link asks for (which decides what its other parameters mean), else the one on screen."""
    asked = st.query_params.get("mode")
    return asked if asked in MODES else st.session_state.get("class_mode", "text")


def mode_sidebar() -> str:
    state.valid_choice("class_mode", list(MODES))
    return st.sidebar.radio("Show", list(MODES), format_func=MODES.get, key="class_mode", horizontal=True)


def share_note(mode: str) -> str | None:
    return image_ui.share_note() if mode == "picture" else None


# --- what to show ---------------------------------------------------------------------------------------------

def text_input() -> Callable[[], Lesson | None]:
    """The model and pruning (sidebar, as on Live text), example buttons, a short text and the game switch; returns
    what classifies it, so the page can write its URL first."""
    entry, classifier = ui.model_sidebar(dataset="imdb")
    method = controls.method_sidebar(controls.TEXT, classifier)
    if not entry.fine_tuned:
        st.sidebar.warning("The packaged MiniLM-L6 is not fine-tuned: its answers are random (its pruning is real).")
    ui.example_buttons(EXAMPLES, TEXT, "model_key")
    text = st.text_area("Text", key=TEXT, height=80, help=f"A sentence or two: the model reads the first "
                                                         f"{classroom.MAX_TOKENS} tokens. Ctrl+Enter to show it.")
    st.toggle("Guessing game: pick the words you think the classifier reads, then reveal the layers", key=GAME)
    return partial(_text_lesson, classifier, method, text)


def _text_lesson(classifier: PrunedTextClassifier, method: PruningMethod, text: str) -> Lesson | None:
    result = classify_live(classifier, method, text, max_length=classroom.MAX_TOKENS)
    if result.hint:
        st.info(result.hint)
        return None
    for notice in result.notices:
        st.warning(notice)
    return Lesson(result.trace)


def picture_input() -> Callable[[], Lesson | None] | None:
    """A ViT and its pruning (sidebar, as on Image) and a picture; None, with a note, when there is nothing to show."""
    entries = catalog.discover_models(kind="vision")
    if not entries:
        st.info("No trained Vision Transformer yet: build the demo one on the Image page.")
        st.page_link("views/7_Image.py", label="Open the Image page", icon=":material/image:")
        return None
    _, classifier = image_ui.model_sidebar(entries)
    method = controls.method_sidebar(controls.IMAGE, classifier)
    picture = image_ui.picture_input()
    return None if picture is None else partial(_picture_lesson, classifier, method, picture)


def _picture_lesson(classifier: PrunedVisionClassifier, method: PruningMethod,
                    picture: pictures.Picture) -> Lesson:
    result = pictures.classify_picture(classifier, method, picture.image, classroom.PICTURE_SIZE)
    note = f"True label: {picture.true_label}" if picture.true_label else f"File: {picture.name}"
    return Lesson(result.trace, result.layer_images, note)


# --- the stage: one layer at a time ---------------------------------------------------------------------------

def stage(lesson: Lesson, params: Sequence[state.UrlParam]) -> None:
    """The layers one at a time; a fragment, so stepping and autoplay redraw only this, not the model's run."""
    asked = st.session_state.setdefault(LAYER, 0)
    if not 0 <= asked <= lesson.last_step:        # a link's layer, or one set for a deeper model
        st.warning(f"This model has {lesson.last_step} layers, so layer {asked} cannot be shown: starting from the "
                   "input.")
        st.session_state[LAYER] = 0
    playing = bool(st.session_state.get(PLAYING))
    st.fragment(_stage, run_every=classroom.PLAY_SECONDS if playing else None)(lesson, params)


def _stage(lesson: Lesson, params: Sequence[state.UrlParam]) -> None:
    if st.session_state.pop(RESTART, False):
        st.rerun()            # Play or Pause: the whole page, to start or stop the fragment's timer
    last, playing = lesson.last_step, bool(st.session_state.get(PLAYING))
    if playing:
        _advance(last)
    step = st.session_state[LAYER]
    back, play, forward, steps = st.columns([1, 1, 1, 4], vertical_alignment="center")
    back.button("Previous", key="do_class_back", icon=":material/arrow_back:", shortcut="Left", width="stretch",
                disabled=step == 0, on_click=_set_step, args=(classroom.previous_step(step),))
    play.button("Pause" if playing else "Play", key="do_class_play", shortcut="P", width="stretch", type="primary",
                icon=":material/pause:" if playing else ":material/play_arrow:", on_click=_toggle_play,
                args=(step, last))
    forward.button("Next", key="do_class_next", icon=":material/arrow_forward:", shortcut="Right", width="stretch",
                   disabled=step == last, on_click=_set_step, args=(classroom.next_step(step, last),))
    steps.segmented_control("Layer", range(last + 1), key=LAYER, required=True, label_visibility="collapsed",
                            format_func=lambda s: "Input" if s == 0 else str(s))
    step, trace = st.session_state[LAYER], lesson.trace
    st.html(drawn.header_html(step, last, lesson.tokens_left(step), len(trace.tokens), trace.predicted_name,
                              trace.probability))
    if lesson.pictures:
        st.image(lesson.pictures[step], width=classroom.PICTURE_SIZE)
        st.text(lesson.note)                      # a file name is user text: shown plain
    else:
        st.html(drawn.words_html(trace, step))
    st.caption("Previous / Next (or the ← → keys), P to play. Bold words go on; struck ones are dropped at this "
               "layer, faint ones were dropped earlier. The classifier reads what is left when the last layer starts "
               f"({drawn.step_label(lesson.read_step, last)}): the last layer's own drops cannot change its answer.")
    state.save_to_url(VIEW, params)               # a step taken here reruns only this fragment


def _set_step(step: int) -> None:
    st.session_state[LAYER] = step


def _toggle_play(step: int, last: int) -> None:
    """Play from this layer (from the input when at the end), or pause."""
    st.session_state[RESTART] = True
    if st.session_state.get(PLAYING):
        st.session_state[PLAYING] = False
        return
    st.session_state.update({PLAYING: True, FRESH: True, LAYER: 0 if step >= last else step})


def _advance(last: int) -> None:
    """One autoplay tick: the next layer (the first run after Play shows the current one); stop at the last."""
    if st.session_state.pop(FRESH, False):
        return
    st.session_state[LAYER] = classroom.next_step(st.session_state[LAYER], last)
    if st.session_state[LAYER] >= last:
        st.session_state[PLAYING] = False
        st.rerun()            # the whole page, to stop the timer


# --- the guessing game ----------------------------------------------------------------------------------------

def guessing_game(lesson: Lesson) -> bool:
    """With the game on (texts only): before the reveal, the class picks the words it thinks the classifier reads
    (alive on entry to the last layer); after it, the round's score. Returns whether the layers may be shown."""
    trace = lesson.trace
    if lesson.pictures or not st.session_state.get(GAME):
        return True
    choices = classroom.word_choices(trace)
    if not choices:
        st.info("This text has no words to guess (only punctuation): type a sentence.")
        return True
    revealed = st.session_state.get(REVEALED) == trace.text
    if not revealed:
        st.html(drawn.words_html(trace, 0))
        _keep_valid_guess(choices)
        st.pills("Which words does the classifier read (still there when the last layer starts)? Pick them, then "
                 "reveal.", choices, selection_mode="multi", key=GUESS, format_func=as_plain_text)
        st.button("Reveal the layers", key="do_class_reveal", type="primary", icon=":material/visibility:",
                  on_click=_reveal, args=(trace,))
    else:
        score = classroom.score_guess(st.session_state.get(GUESSED, []), trace)
        st.html(drawn.score_html(score.overlap, score.precision, score.recall, score.dropped, score.missed))
        st.button("New round", key="do_class_new_round", type="primary", icon=":material/replay:",
                  on_click=_new_round, args=(trace.text,))
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(classroom.tally_line(st.session_state.get(SCORES, [])))
    right.button("Reset the score", key="do_class_reset", type="tertiary", on_click=st.session_state.pop,
                 args=(SCORES, None))
    return revealed


def as_plain_text(word: str) -> str:
    """A word for a Markdown label, shown exactly as typed."""
    return _MARKDOWN.sub(r"\\\1", word)


def _keep_valid_guess(choices: list[str]) -> None:
    """Forget guessed words that are not in this text (the text changed since they were picked)."""
    guess = st.session_state.get(GUESS)
    if isinstance(guess, list) and any(word not in choices for word in guess):
        st.session_state[GUESS] = [word for word in guess if word in choices]


def _reveal(trace: ExampleTrace) -> None:
    guessed = list(st.session_state.get(GUESS) or [])
    score = classroom.score_guess(guessed, trace)
    st.session_state[SCORES] = [*st.session_state.get(SCORES, []), score.overlap]
    st.session_state.update({GUESSED: guessed, REVEALED: trace.text, LAYER: 0, PLAYING: False})


def _new_round(text: str) -> None:
    st.session_state.update({REVEALED: None, GUESS: [], LAYER: 0, PLAYING: False,
                             TEXT: classroom.next_example(text, EXAMPLES)})
