"""The dashboard's pages, declared once: the entry point (app/Home.py) runs them with st.navigation, and Home
links to them with the same titles and icons."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from . import state
from .live import use_live_threads

APP_DIR = Path(__file__).resolve().parents[1]
LOGO = APP_DIR / "static" / "logo.svg"


@dataclass(frozen=True)
class PageInfo:
    file: str        # relative to app/ (not app/pages/: that folder would switch Streamlit to its older
                     # multipage mode and bypass st.navigation); its name, less the number, is the URL path
    title: str
    icon: str
    blurb: str = ""  # what Home says of it
    linkable: bool = False   # its settings travel in its URL (it reads them itself, state.open_from_url)


PAGES = [
    PageInfo("views/0_Overview.py", "Home", ":material/home:"),
    PageInfo("views/1_Live_text.py", "Live text", ":material/edit_note:",
             "type or paste a review and watch its tokens drop out layer by layer; try LTP, top-k, TS-DTP or no "
             "pruning.", linkable=True),
    PageInfo("views/2_Token_patterns.py", "Token patterns", ":material/category:",
             "which parts of speech, entities, stopwords and frequency bands survive, per class, and the words kept "
             "most."),
    PageInfo("views/3_Embeddings.py", "Embeddings", ":material/scatter_plot:",
             "t-SNE and UMAP maps of what the retained tokens represent."),
    PageInfo("views/4_Domain_keywords.py", "Domain keywords", ":material/key:",
             "how pruning treats the words that carry a class, and any words you type."),
    PageInfo("views/5_Accuracy_vs_speed.py", "Accuracy vs speed", ":material/speed:",
             "every benchmark setting against measured throughput and FLOPs, with the Pareto front."),
    PageInfo("views/10_Class_report.py", "Class report", ":material/grid_on:",
             "a traced run's precision, recall and F1 per class and its confusion matrix; click a cell to read its "
             "texts."),
    PageInfo("views/6_Compare.py", "Compare", ":material/compare_arrows:",
             "two runs side by side, and LTP, top-k and TS-DTP on the same text."),
    PageInfo("views/7_Image.py", "Image", ":material/image:",
             "classify a CIFAR-10 test picture or your own with a Vision Transformer and see which patches each "
             "layer keeps.", linkable=True),
    PageInfo("views/8_Classroom.py", "Classroom", ":material/school:",
             "for a projector: one layer at a time in large type, and a game: guess which words survive.",
             linkable=True),
    PageInfo("views/9_Findings.py", "Findings", ":material/fact_check:",
             "the study's claims checked on a run: each a statistic with a 95% interval and a verdict."),
    PageInfo("views/11_KV_cache.py", "KV cache", ":material/memory:",
             "a generating language model's key-value cache under an eviction press: the answers with the full and "
             "the pressed cache side by side, and which prompt tokens each layer kept.", linkable=True),
]


def run() -> None:
    """Set up the page, keep the settings of pages not shown, and run the page the URL names."""
    st.set_page_config(page_title="Token Pruning Lens", page_icon="🔍", layout="wide")
    st.logo(str(LOGO), size="large")
    use_live_threads()
    state.keep_settings()
    pages = [st.Page(page.file, title=page.title, icon=page.icon, default=index == 0)
             for index, page in enumerate(PAGES)]
    page = st.navigation(pages)
    if not next(info for info in PAGES if info.title == page.title).linkable:
        state.ignore_url(page.title)   # a link's parameters here are noted, then cleared from the address
    page.run()
