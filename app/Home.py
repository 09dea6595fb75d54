"""Token Pruning Lens: what token pruning is, which models are here, and where to go."""
import streamlit as st

import lens_app
import lens_store
from pruning_core import catalog
from pruning_core.tables import runs_table

PAGES = [  # (page, what it shows, icon)
    ("pages/1_Live_text.py", "**Live text**: type or paste a review and watch its tokens drop out layer by layer; "
     "try LTP, top-k, TS-DTP or no pruning.", ":material/edit_note:"),
    ("pages/2_Token_patterns.py", "**Token patterns**: which parts of speech, entities, stopwords and frequency bands "
     "survive, per class, and the words kept most.", ":material/category:"),
    ("pages/3_Embeddings.py", "**Embeddings**: t-SNE and UMAP maps of what the retained tokens represent.",
     ":material/scatter_plot:"),
    ("pages/4_Domain_keywords.py", "**Domain keywords**: how pruning treats the words that carry a class, and any "
     "words you type.", ":material/key:"),
    ("pages/5_Accuracy_vs_speed.py", "**Accuracy vs speed**: every benchmark setting against measured throughput "
     "and FLOPs, with the Pareto front.", ":material/speed:"),
    ("pages/6_Compare.py", "**Compare**: two runs side by side, and LTP, top-k and TS-DTP on the same text.",
     ":material/compare_arrows:"),
    ("pages/7_Image.py", "**Image**: classify a CIFAR-10 test picture or your own with a Vision Transformer and see "
     "which patches each layer keeps.", ":material/image:"),
]

lens_app.page_setup("Home", "🔍")
st.title("Token Pruning Lens")
st.markdown(
    "A transformer reads every token of a text at every layer, yet many tokens barely matter to its answer. "
    "**Token pruning** scores each token by the attention it gets and removes the weakest ones layer by layer, "
    "so later layers run on fewer tokens and inference gets faster. "
    "This dashboard shows which tokens survive each layer, and what removing them costs in accuracy."
)

st.subheader("Where to go")
for page, label, icon in PAGES:
    st.page_link(page, label=label, icon=icon)

st.subheader("Models")
trained = catalog.trained_models(catalog.discover_models())
if trained:
    st.dataframe(catalog.describe(trained), hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.NumberColumn(format="%.3f"),
                                "macro-F1": st.column_config.NumberColumn(format="%.3f")})
    st.caption(f"Trained models found under `{catalog.artifacts_root() / 'models'}`; "
               "the packaged MiniLM-L6 is always available too.")
else:
    st.info("No trained models yet. Live text works right away with the packaged MiniLM-L6 (its pruning is real, "
            "but its head is not fine-tuned, so its predictions are random).")
lens_app.demo_section(no_models=not trained)

st.subheader("Runs")
try:
    stored = lens_store.fetch("runs")
except lens_store.Unavailable as reason:
    st.info(str(reason))
else:
    if stored.empty:
        st.info("No runs in the database yet: build the demo models (above, or `python -m pipelines.demo`), or "
                "trace a model with `python -m pipelines.trace`. The dataset pages read these runs.")
    else:
        st.dataframe(runs_table(stored), hide_index=True, column_config={
            "accuracy": st.column_config.NumberColumn(format="%.3f"),
            "macro-F1": st.column_config.NumberColumn(format="%.3f"),
            "tokens kept": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1,
                                                          help="Share of the tokens that reached the classifier."),
            "analysed": st.column_config.CheckboxColumn(help="Analysed runs feed Token patterns, Embeddings "
                                                             "and Domain keywords.")})
        st.caption(f"Traced test sets in `{lens_store.db_version()[0]}`, newest first.")
