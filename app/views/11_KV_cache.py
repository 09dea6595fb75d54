"""KV cache: watch which context tokens a generating language model keeps in its key-value cache under an eviction
press, and what that does to its answer."""
import streamlit as st

from dashboard import figures, kv, kv_ui, share_ui, state

st.title("KV cache")
st.caption("A language model writing an answer keeps the keys and values of every prompt token; a press evicts most "
           "of the context's to save memory and time. Pick a prompt and a press in the sidebar, and compare the "
           "answer with the full cache and with the pressed one, and which tokens each layer kept.")
state.open_from_url("kv", kv_ui.KV_URL)

lm = kv_ui.language_model()          # loaded once per server; stops with a clear message when it cannot load
press, budget, rolling, max_new = kv_ui.press_sidebar()
labelled = kv_ui.prompt_input(lm)
state.save_to_url("kv", kv_ui.KV_URL)
if labelled is None:
    st.stop()

run = kv_ui.run(lm, labelled, press, budget, max_new, rolling)
kv_ui.answers(run, labelled)

st.subheader("Which context tokens stayed")
trace = run.pressed
layer, step = kv_ui.cache_view(trace, run.rolling)
shares, notes = kv.colouring(trace, layer, step)
st.html(figures.context_legend(layer))
st.html(figures.trace_context_html(trace, shares, notes))
st.caption(figures.CONTEXT_CAPTION)
kv_ui.per_head(trace, step)
kv_ui.downloads(run, labelled)
share_ui.share_view(kv_ui.KV_URL, "KV_cache")
kv_ui.benchmark_section()
