"""Token patterns: which kinds of words survive pruning over a traced test set, per class."""
import pandas as pd
import streamlit as st

from dashboard import reads, retention
from dashboard.figures import patterns
from dashboard.tables import FACET_NAMES
from pruning_core.trace import read_layer

st.title("Token patterns")
st.caption("Which words a pruned model keeps over a whole traced test set: by part of speech, entity type, "
           "stopword and frequency band, per class, and the words it keeps most.")

run = reads.run_picker(reads.runs(analysed=True))
run_id, names, layers = run["run_id"], list(run["label_names"]), int(run["num_layers"])
by = st.sidebar.radio("Classes by", ["true", "predicted"], horizontal=True, key="class_by",
                      format_func={"true": "True label", "predicted": "Prediction"}.get)
classes = st.sidebar.multiselect("Classes", names, default=names, key=f"classes_{run_id}")  # per run: its labels
layer = st.sidebar.select_slider("After layer", list(range(layers)), value=max(read_layer(layers), 0),
                                 key=f"layer_{run_id}", format_func=lambda index: str(index + 1),
                                 help="Retention counts the words still alive after this layer. The classifier "
                                      "reads the words alive on entry to the last layer: the survivors of the layer "
                                      "before it (the default).")

st.subheader("Retention by category")
facet = st.radio("Facet", list(FACET_NAMES), format_func=FACET_NAMES.get, horizontal=True, key="facet",
                 label_visibility="collapsed")
overall = reads.read("retention", run_id, facet, by="all", layer=layer)
per_class = reads.read("retention", run_id, facet, by=by, layer=layer)
shown = pd.concat([overall, per_class[per_class["class_name"].isin(classes)]], ignore_index=True)
shown = retention.with_intervals(shown, run_id, facet, by, layer)
left, right = st.columns([3, 2], gap="large")
left.plotly_chart(patterns.retention_figure(shown, facet, layer, ["all", *classes]), key="retention")
left.caption(patterns.RETENTION_CAPTION)
left.download_button("Download as CSV", retention.csv_bytes(shown), file_name=f"{run_id}-retention-{facet}.csv",
                     mime="text/csv", icon="⬇️", key="do_download_retention")
right.plotly_chart(patterns.retention_layers_figure(reads.read("retention", run_id, facet), facet),
                   key="retention_layers")
right.caption(patterns.RETENTION_LAYERS_CAPTION)

st.subheader("Most retained words")
count, content = st.columns([2, 1], vertical_alignment="bottom")
top = count.slider("Words per class", 5, 30, 12, key="top_words")
content_only = content.toggle("Content words only", value=True, key="content_only",
                              help="Leave out stopwords and tokens without a letter (punctuation, numbers).")
words = reads.read("top_words", run_id, by=by, top=top, content_only=content_only)
words = words[words["class_name"].isin(classes)]
if words.empty:
    st.info("No retained words for the chosen classes: pick a class in the sidebar.")
    st.stop()
bars, treemap = st.tabs(["Bars", "Treemap"])
bars.plotly_chart(patterns.top_words_figure(words, classes), key="top_words_bars")
bars.caption(patterns.TOP_WORDS_CAPTION)
treemap.plotly_chart(patterns.top_words_treemap(words, classes), key="top_words_treemap")
treemap.caption(patterns.TREEMAP_CAPTION)
