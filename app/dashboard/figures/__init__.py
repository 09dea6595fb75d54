"""Rendering for the dashboard: token HTML (escaped) and Plotly figures. No Streamlit imports."""
from .charts import SCORE_CAPTION, TOKEN_COUNT_CAPTION, score_figure, token_count_figure
from .images import PATCH_COUNT_CAPTION, patch_count_figure
from .tokens import UNITS, display_units, layer_cutoff, layer_view_html, legend_html

__all__ = ["PATCH_COUNT_CAPTION", "SCORE_CAPTION", "TOKEN_COUNT_CAPTION", "UNITS", "display_units", "layer_cutoff",
           "layer_view_html", "legend_html", "patch_count_figure", "score_figure", "token_count_figure"]
