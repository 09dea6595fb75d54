"""Embeddings: the stored t-SNE and UMAP maps of what the retained tokens represent."""
import streamlit as st

import lens_app
import lens_store
from pruning_core.viz import embeddings

lens_app.page_setup("Embeddings", ":material/scatter_plot:")
st.title("Embeddings")
st.caption("Where the pruned model puts each text, judging only by the tokens that reached its last layer: "
           "t-SNE and UMAP maps computed by the analysis pipeline.")

run = lens_store.run_picker(lens_store.runs(analysed=True))
level = st.sidebar.radio("Points", ["example", "token"], horizontal=True, key="level",
                         format_func={"example": "Texts", "token": "Retained tokens"}.get)
color_by = st.sidebar.radio("Colour by", list(embeddings.COLOR_BY), format_func=embeddings.COLOR_BY.get,
                            key="color_by")

maps = {method: lens_store.read("projections", run["run_id"], level=level, method=method)
        for method in embeddings.PROJECTION_NAMES}
stored = {method: points for method, points in maps.items() if not points.empty}
if not stored:
    st.info(f"This run has no stored projections: run `python -m pipelines.analyze --run {run['run_id']}` "
            "(it computes t-SNE and UMAP maps of a sample of the texts).")
    st.stop()
for column, (method, points) in zip(st.columns(len(stored), gap="large"), stored.items()):
    column.plotly_chart(embeddings.projection_figure(points, color_by, method, level, list(run["label_names"])),
                        key=f"map_{method}")
    shown = "texts" if level == "example" else "retained tokens"
    column.caption(f"{len(points):,} {shown} · {(points['correct']).mean():.0%} of them classified correctly.")
st.caption(embeddings.PROJECTION_CAPTION)
missing = [embeddings.PROJECTION_NAMES[m] for m in maps if m not in stored]
if missing:
    st.caption(f"No stored {' or '.join(missing)} map for this run.")
