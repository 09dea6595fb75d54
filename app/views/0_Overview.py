"""Token Pruning Lens: what token pruning is, which models are here, and where to go."""
import streamlit as st

from dashboard import catalog, reads, ui
from dashboard.navigation import PAGES
from dashboard.tables import EMPTY_CELL, READ_SHARE_HELP, runs_table
from pruning_core import paths

st.title("Token Pruning Lens")
st.markdown(
    "A transformer reads every token of a text at every layer, yet many tokens barely matter to its answer. "
    "**Token pruning** scores each token by the attention it gets and removes the weakest ones layer by layer, "
    "so later layers run on fewer tokens and inference gets faster. "
    "This dashboard shows which tokens survive each layer, and what removing them costs in accuracy."
)

st.subheader("Where to go")
for page in PAGES[1:]:
    st.page_link(page.file, label=f"**{page.title}**: {page.blurb}", icon=page.icon)

st.subheader("Models")
trained = catalog.trained_models(catalog.discover_models())
if trained:
    st.dataframe(catalog.describe(trained), hide_index=True, width="stretch", placeholder=EMPTY_CELL,
                 column_config={"accuracy": st.column_config.NumberColumn(format="%.3f"),
                                "macro-F1": st.column_config.NumberColumn(format="%.3f")})
    st.caption(f"Trained models found under `{paths.models_dir()}`; "
               "the packaged MiniLM-L6 is always available too.")
else:
    st.info("No trained models yet. Live text works right away with the packaged MiniLM-L6 (its pruning is real, "
            "but its head is not fine-tuned, so its predictions are random).")
ui.demo_section(trained)

st.subheader("Runs")
try:
    stored = reads.fetch("runs")
except reads.Unavailable as reason:
    (st.error if reason.problem else st.info)(str(reason))
else:
    if stored.empty:
        st.info("No runs in the database yet: build the demo models (above, or `python -m pipelines.demo`), or "
                "trace a model with `python -m pipelines.trace`. The dataset pages read these runs.")
    else:
        st.dataframe(runs_table(stored), hide_index=True, placeholder=EMPTY_CELL, column_config={
            "accuracy": st.column_config.NumberColumn(format="%.3f"),
            "macro-F1": st.column_config.NumberColumn(format="%.3f"),
            "tokens read": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1,
                                                          help=READ_SHARE_HELP),
            "analysed": st.column_config.CheckboxColumn(help="Analysed runs feed Token patterns, Embeddings "
                                                             "and Domain keywords.")})
        st.caption(f"Traced test sets in `{reads.db_version()[0]}`, newest first.")
