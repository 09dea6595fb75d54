"""Classroom: one layer at a time in very large type, for a projector, with a guessing game."""
import streamlit as st

from dashboard import classroom_ui, share_ui, state

st.title("Classroom")
st.caption("Show a class how a transformer drops tokens: one layer at a time, with Previous / Next (or the arrow "
           "keys) or Play. Turn on the guessing game to have the class pick, first, the words the classifier reads "
           "(those still there when the last layer starts).")
state.open_from_url(classroom_ui.VIEW, classroom_ui.url_params(classroom_ui.url_mode()))

mode = classroom_ui.mode_sidebar()
make_lesson = classroom_ui.text_input() if mode == "text" else classroom_ui.picture_input()
params = classroom_ui.url_params(mode)
state.save_to_url(classroom_ui.VIEW, params)
lesson = make_lesson() if make_lesson else None
if lesson is not None and classroom_ui.guessing_game(lesson):
    classroom_ui.stage(lesson, params)
share_ui.share_view(params, classroom_ui.PAGE_PATH, classroom_ui.share_note(mode))
