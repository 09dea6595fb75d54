"""Live text: type a text and watch its tokens drop out, layer by layer."""
import streamlit as st

import lens_app
from pruning_core import viz
from pruning_core.live import EXAMPLES, classify_live, threshold_note

lens_app.page_setup("Live text", "✍️")
st.title("Live text")
st.caption("Type or paste a text, pick a model and a pruning method in the sidebar, and see which tokens "
           "each layer keeps.")

entry, classifier = lens_app.model_sidebar()
method = lens_app.method_sidebar(classifier)
unit, hide_gone = lens_app.view_sidebar()
if not entry.fine_tuned:
    st.warning("The packaged MiniLM-L6 is **not fine-tuned: its predictions are random**. Its attention, and so "
               "its pruning, is real. Build or pick a trained model on Home for meaningful predictions.")

lens_app.example_buttons(EXAMPLES, "live_text")
text = st.text_area("Your text", key="live_text", height=110,
                    help="Press Ctrl+Enter (or click outside the box) to classify.")

result = classify_live(classifier, method, text)
if result.hint:
    st.info(result.hint)
    st.stop()
for notice in result.notices:
    st.warning(notice)
trace = result.trace
prediction, probability, timing, tokens = st.columns(4)
prediction.metric("Prediction", trace.predicted_name)
probability.metric("Probability", f"{trace.probability:.1%}")
timing.metric("Model time", f"{result.model_ms:.0f} ms", help="Tokenizing, the pruned layer loop and the trace.")
tokens.metric("Tokens", f"{len(trace.tokens)} → {trace.keep_counts[-1]}",
              help="At the input → after the last layer.")

st.subheader("Tokens, layer by layer")
st.html(viz.layer_view_html(trace, unit, hide_gone))
st.caption("Each row is one layer, top to bottom: highlighted tokens go on to the next layer, struck ones "
           "were removed there or earlier.")
left, right = st.columns(2)
left.plotly_chart(viz.token_count_figure(trace), width="stretch")
left.caption(viz.TOKEN_COUNT_CAPTION)
right.plotly_chart(viz.score_figure(trace), width="stretch")
right.caption(viz.SCORE_CAPTION)
if note := threshold_note(method):
    right.caption(note)
