"""Rendering for the dashboard: token HTML (escaped; its home is pruning_core.render, which notebooks use too) and
Plotly figures. No Streamlit imports."""
from pruning_core.render import UNITS, display_units, layer_cutoff, layer_view_html, legend_html
from .charts import SCORE_CAPTION, TOKEN_COUNT_CAPTION, score_figure, token_count_figure
from .images import PATCH_COUNT_CAPTION, patch_count_figure

__all__ = ["PATCH_COUNT_CAPTION", "SCORE_CAPTION", "TOKEN_COUNT_CAPTION", "UNITS", "display_units", "layer_cutoff",
           "layer_view_html", "legend_html", "patch_count_figure", "score_figure", "token_count_figure"]
