"""A run's confusion matrix as a clickable figure: a heatmap of each true class's shares, under one invisible
square per cell that Streamlit's point selection can report (it reports nothing for heatmaps)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .charts import styled

CELL_PIXELS, MAX_CELL_PIXELS = 360, 110   # the matrix's height shared by its rows; a row's largest height
OUTLINE = "#0f172a"

CONFUSION_CAPTION = ("Rows are the true classes, columns the predicted ones; each cell gives the number of texts and "
                     "their share of the true class (its colour). The diagonal holds the correct answers. Click a "
                     "cell (or choose it below) to read its texts.")


def confusion_figure(matrix: pd.DataFrame) -> go.Figure:
    """Heatmap of a labelled confusion matrix (rows true classes, columns predicted, as store.run_metrics gives it),
    coloured by share of the row; each cell's invisible square (outlined once clicked) carries [true index,
    predicted index]."""
    counts = matrix.to_numpy(dtype=np.int64)                                    # (C, C): [true, predicted]
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"matrix must be square with at least one class, got shape {counts.shape}.")
    size = counts.shape[0]
    names = [html.escape(str(name)) for name in matrix.index]                 # Plotly reads tags in labels
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)   # (C, C)
    true_index, predicted_index = (grid.ravel() for grid in np.indices((size, size)))
    figure = go.Figure(go.Heatmap(
        z=shares, x=names, y=names, zmin=0, zmax=1, colorscale="Blues", hoverinfo="skip",
        text=[[f"{counts[t, p]:,}<br>{shares[t, p]:.0%}" for p in range(size)] for t in range(size)],
        texttemplate="%{text}", colorbar=dict(title="share", tickformat=".0%")))   # text colour: auto-contrast
    pixels = min(CELL_PIXELS / size, MAX_CELL_PIXELS)
    figure.add_trace(go.Scatter(   # the click targets; the selected one shows as an outline
        x=[names[p] for p in predicted_index], y=[names[t] for t in true_index], mode="markers",
        customdata=np.stack([true_index, predicted_index], axis=1),
        hovertext=[f"true <b>{names[t]}</b>, predicted <b>{names[p]}</b><br>{counts[t, p]:,} texts, "
                   f"{shares[t, p]:.1%} of {names[t]}<br>click to list them"
                   for t, p in zip(true_index, predicted_index)],
        hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
        marker=dict(symbol="square-open", size=0.9 * pixels, color=OUTLINE, line=dict(width=3), opacity=0),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0))))
    styled(figure, "Confusion matrix", "Predicted class", "True class")
    figure.update_xaxes(type="category", showgrid=False)
    figure.update_yaxes(type="category", autorange="reversed", showgrid=False)
    # hoverdistance -1: a click anywhere in a cell reaches its target (the nearest one), however wide the cell
    figure.update_layout(height=int(pixels * size) + 120, hoverdistance=-1)
    return figure


def clicked_cell(selection: object) -> tuple[int, int] | None:
    """(true index, predicted index) of the cell clicked in a confusion_figure (Streamlit's selection state), or
    None when no cell is selected."""
    points = getattr(getattr(selection, "selection", None), "points", None) or []
    cells = [point["customdata"] for point in points if len(point.get("customdata") or []) == 2]
    return (int(cells[0][0]), int(cells[0][1])) if cells else None
