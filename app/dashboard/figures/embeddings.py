"""Stored t-SNE / UMAP points as scatter plots, coloured by true class, predicted class or correctness."""
from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .charts import styled
from .patterns import class_colors

COLOR_BY = {"label_name": "True class", "predicted_name": "Predicted class", "correct": "Correct or not"}
PROJECTION_NAMES = {"tsne": "t-SNE", "umap": "UMAP"}
CORRECT_COLORS = {"correct": "#059669", "wrong": "#dc2626"}
HOVER_CHARS = 280

PROJECTION_CAPTION = ("Each dot is one text (or one retained token), placed by its retained tokens' final "
                      "representations: texts of a class clustering together means pruning kept what tells them "
                      "apart. Hover a dot for the tokens that reached the classifier; click it to see the text "
                      "layer by layer below.")


def hover_text(text: str, width: int = 60, limit: int = HOVER_CHARS) -> str:
    """Escaped, wrapped and shortened text for a Plotly hover label."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit].rstrip() + " …"
    return "<br>".join(html.escape(line) for line in textwrap.wrap(text, width)) or "(nothing)"


def projection_figure(points: pd.DataFrame, color_by: str, method: str, level: str,
                      label_names: list[str]) -> go.Figure:
    """Scatter of the stored points; hover shows the retained tokens (example level) or the token and word."""
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_BY)}, got {color_by!r}.")
    groups = points[color_by].map({True: "correct", False: "wrong"}) if color_by == "correct" else points[color_by]
    colors = CORRECT_COLORS if color_by == "correct" else class_colors(label_names)
    order = list(CORRECT_COLORS) if color_by == "correct" else label_names
    figure = go.Figure()
    for group in [g for g in order if g in set(groups)]:
        rows = points[groups == group]
        figure.add_trace(go.Scattergl(
            x=rows["x"], y=rows["y"], mode="markers", name=html.escape(str(group)),
            marker=dict(color=colors.get(group), size=7 if level == "example" else 6, opacity=0.75,
                        line=dict(width=0.5, color="white")),
            customdata=np.stack([np.asarray(_hover_rows(rows, level), dtype=object),
                                 rows["example_id"].to_numpy(dtype=object)], axis=-1),
            hovertemplate="%{customdata[0]}<extra></extra>"))
    what = "texts" if level == "example" else "retained tokens"
    styled(figure, f"{PROJECTION_NAMES.get(method, method)} of {what}, coloured by {COLOR_BY[color_by].lower()}",
           f"{PROJECTION_NAMES.get(method, method)} 1", f"{PROJECTION_NAMES.get(method, method)} 2")
    figure.update_xaxes(showticklabels=False, zeroline=False)
    figure.update_yaxes(showticklabels=False, zeroline=False)
    figure.update_layout(height=460, hoverlabel=dict(align="left"))
    return figure


def selected_examples(selection: object) -> list[int]:
    """Example ids of the points clicked or lassoed in a projection_figure (Streamlit's selection state)."""
    points = getattr(getattr(selection, "selection", None), "points", None) or []
    return [int(point["customdata"][1]) for point in points if len(point.get("customdata") or []) > 1]


def _hover_rows(rows: pd.DataFrame, level: str) -> list[str]:
    labels = [f"true <b>{html.escape(t)}</b>, predicted <b>{html.escape(p)}</b>"
              for t, p in zip(rows["label_name"], rows["predicted_name"])]
    if level == "example":
        return [f"#{e} · {label}<br><i>kept to the classifier:</i><br>{hover_text(kept)}"
                for e, label, kept in zip(rows["example_id"], labels, rows["retained_text"])]
    return [f"token <b>{html.escape(str(token))}</b> in “{html.escape(str(word))}”<br>text #{e} · {label}"
            for token, word, e, label in zip(rows["token"], rows["word"], rows["example_id"], labels)]
