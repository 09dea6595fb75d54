"""Token Pruning Lens: the dashboard's front page (the full dashboard arrives with its own issue)."""
import streamlit as st

st.set_page_config(page_title="Token Pruning Lens", page_icon="🔍", layout="wide")
st.title("Token Pruning Lens")
st.markdown(
    "Transformers spend most of their time on tokens that barely matter. **Token pruning** drops the "
    "least important tokens layer by layer, so later layers run on fewer rows and inference gets faster. "
    "This dashboard shows which tokens survive each layer and what that costs in accuracy."
)
st.info("The pages for live text, token patterns, embeddings, keywords and accuracy-vs-speed are on their way.")
