"""Rendering for the dashboard: token HTML (escaped; its home is pruning_core.render, which notebooks use too) and
Plotly figures. No Streamlit imports."""
from pruning_core.render import UNITS, display_units, layer_cutoff, layer_view_html, legend_html
from .charts import SCORE_CAPTION, TOKEN_COUNT_CAPTION, score_figure, token_count_figure
from .images import PATCH_COUNT_CAPTION, patch_count_figure
from .kv import (BUDGET_CAPTION, CONTEXT_CAPTION, HEADS_CAPTION, POS_CAPTION, SPEED_CAPTION, answer_html,
                 budget_figure, context_legend, heads_figure, layer_counts_figure, layers_figure, pos_figure,
                 speed_figure, trace_context_html)

__all__ = ["BUDGET_CAPTION", "CONTEXT_CAPTION", "HEADS_CAPTION", "PATCH_COUNT_CAPTION", "POS_CAPTION", "SCORE_CAPTION",
           "SPEED_CAPTION", "TOKEN_COUNT_CAPTION", "UNITS", "answer_html", "budget_figure", "context_legend", "display_units", "heads_figure", "layer_counts_figure", "layer_cutoff",
           "layer_view_html", "layers_figure", "legend_html", "patch_count_figure", "pos_figure", "score_figure",
           "speed_figure", "token_count_figure", "trace_context_html"]
