"""Compare: two runs on the same views, and LTP, top-k and TS-DTP on one text or over a dataset."""
import streamlit as st

from dashboard import compare_ui

st.title("Compare")
view = st.segmented_control("View", list(compare_ui.VIEWS), format_func=compare_ui.VIEWS.get, default="runs",
                            required=True, key="compare_view", label_visibility="collapsed")
compare_ui.show(view)
