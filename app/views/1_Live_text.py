"""Live text: type a text and watch its tokens drop out, layer by layer."""
import streamlit as st

from dashboard import controls, figures, share_ui, state, ui
from dashboard.live import EXAMPLES, classify_live
from dashboard.faithfulness_ui import live_section as faithfulness_section

st.title("Live text")
st.caption("Type or paste a text, pick a model and a pruning method in the sidebar, and see which tokens "
           "each layer keeps. The address bar always holds a link to this view.")
state.open_from_url("live", ui.LIVE_URL)

entry, classifier = ui.model_sidebar(dataset="imdb")   # the examples start with reviews
method = controls.method_sidebar(controls.TEXT, classifier)
unit, hide_gone = ui.view_sidebar()
if not entry.fine_tuned:
    st.warning("The packaged MiniLM-L6 is **not fine-tuned: its predictions are random**. Its attention, and so "
               "its pruning, is real. Build or pick a trained model on Home for meaningful predictions.")

ui.example_buttons(EXAMPLES, "live_text", "model_key")
text = st.text_area("Your text", key="live_text", height=110,
                    help="Press Ctrl+Enter (or click outside the box) to classify.")
state.save_to_url("live", ui.LIVE_URL)

result = classify_live(classifier, method, text)
if result.hint:
    st.info(result.hint)
    st.stop()
for notice in result.notices:
    st.warning(notice)
trace = result.trace
ui.result_metrics(trace, result.model_ms, "Tokenizing")

st.subheader("Tokens, layer by layer")
st.html(figures.layer_view_html(trace, unit, hide_gone))
st.caption("Each row is one layer, top to bottom: highlighted tokens go on to the next layer, struck ones "
           "were removed there or earlier. The classifier reads the tokens alive on entry to the last layer: the "
           "last layer's own removals cannot change the answer.")
share_ui.text_downloads(trace, unit, hide_gone)
left, right = st.columns(2)
left.plotly_chart(figures.token_count_figure(trace), width="stretch")
left.caption(figures.TOKEN_COUNT_CAPTION)
right.plotly_chart(figures.score_figure(trace), width="stretch")
right.caption(figures.SCORE_CAPTION)
if note := method.threshold_note:
    right.caption(note)
faithfulness_section(classifier, method, text, trace)
share_ui.share_view(ui.LIVE_URL, "Live_text")
