"""Embeddings: the stored t-SNE and UMAP maps of what the retained tokens represent."""
import pandas as pd
import streamlit as st

from dashboard import figures, reads
from dashboard.figures import embeddings
from dashboard.stored_trace import trace_from_store

st.title("Embeddings")
st.caption("Where the pruned model puts each text, judging only by the tokens that reached its last layer: "
           "t-SNE and UMAP maps computed by the analysis pipeline.")

run = reads.run_picker(reads.runs(analysed=True))
run_id, names = run["run_id"], list(run["label_names"])
level = st.sidebar.radio("Points", ["example", "token"], horizontal=True, key="level",
                         format_func={"example": "Texts", "token": "Retained tokens"}.get)
color_by = st.sidebar.radio("Colour by", list(embeddings.COLOR_BY), format_func=embeddings.COLOR_BY.get,
                            key="color_by")

maps = {method: reads.read("projections", run_id, level=level, method=method)
        for method in embeddings.PROJECTION_NAMES}
stored = {method: points for method, points in maps.items() if not points.empty}
if not stored:
    st.info(f"This run has no stored projections: run `python -m pipelines.analyze --run {run_id}` "
            "(it computes t-SNE and UMAP maps of a sample of the texts).")
    st.stop()
picked = []
for column, (method, points) in zip(st.columns(len(stored), gap="large"), stored.items()):
    event = column.plotly_chart(embeddings.projection_figure(points, color_by, method, level, names),
                                key=f"map_{method}_{level}", on_select="rerun", selection_mode=("points", "lasso"))
    picked += embeddings.selected_examples(event)
    shown = "texts" if level == "example" else "retained tokens"
    column.caption(f"{len(points):,} {shown} · {(points['correct']).mean():.0%} of them classified correctly.")
st.caption(embeddings.PROJECTION_CAPTION)
missing = [embeddings.PROJECTION_NAMES[m] for m in maps if m not in stored]
if missing:
    st.caption(f"No stored {' or '.join(missing)} map for this run.")

st.subheader("One text, layer by layer")
labels = pd.concat(stored.values()).drop_duplicates("example_id").set_index("example_id").sort_index()
if picked and st.session_state.get("applied_pick") != picked:      # a new click picks the text below
    st.session_state["applied_pick"] = picked
    st.session_state[f"example_{run_id}"] = picked[0]
example_id = st.selectbox("Text (or click a dot above)", list(labels.index), key=f"example_{run_id}",
                          format_func=lambda i: f"#{i} · true {labels.loc[i, 'label_name']}, "
                                                f"predicted {labels.loc[i, 'predicted_name']}")
example = reads.read("examples", run_id, limit=1, offset=int(example_id))
if example.empty or int(example["example_id"].iloc[0]) != example_id:
    reads.stop_with(f"Text #{example_id} is not in this run's stored examples.")
trace = trace_from_store(reads.read("run_info", run_id), example.iloc[0],
                         reads.read("example_tokens", run_id, int(example_id)))
st.html(figures.layer_view_html(trace, "words"))
st.caption("Each row is one layer, top to bottom: highlighted words went on to the next layer, struck ones were "
           "removed there or earlier.")
