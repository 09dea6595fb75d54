"""Token Pruning Lens: what token pruning is, which models are here, and where to go."""
import streamlit as st

import lens_app
from pruning_core import catalog

lens_app.page_setup("Home", "🔍")
st.title("Token Pruning Lens")
st.markdown(
    "A transformer reads every token of a text at every layer, yet many tokens barely matter to its answer. "
    "**Token pruning** scores each token by the attention it gets and removes the weakest ones layer by layer, "
    "so later layers run on fewer tokens and inference gets faster. "
    "This dashboard shows which tokens survive each layer, and what removing them costs in accuracy."
)

st.subheader("Where to go")
st.page_link("pages/1_Live_text.py", label="**Live text**: type or paste a review and watch its tokens drop "
             "out layer by layer; try LTP, top-k or no pruning.", icon="✍️")

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
