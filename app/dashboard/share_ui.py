"""The share and download widgets of the Live text, Image and Classroom views; links and QR codes come from
dashboard.share, the files from dashboard.export."""
from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import streamlit as st

from pruning_core.trace import ExampleTrace

from . import export, share, state
from .pictures import PictureResult

QR_WIDTH = 260   # pixels: large enough to scan from a phone held at arm's length


def current_address(page_path: str) -> str | None:
    """This page's address as the browser sees it (None when the app is not opened in a browser)."""
    return share.page_address(st.context.url, st.context.headers.to_dict(), page_path,
                              st.get_option("server.baseUrlPath") or "")


def share_view(params: Sequence[state.UrlParam], page_path: str, note: str | None = None) -> None:
    """An expander with the link that reopens this view and its QR code; `note` says what the link leaves out."""
    values, too_long = state.url_values(params)
    stored = [param.name for param in params if param.name in values and param.is_stored(values[param.name])]
    link = share.view_link(current_address(page_path), values, too_long, stored)
    with st.expander("Share this view", icon=":material/qr_code_2:"):
        if note:
            st.caption(note)
        if link.url is None:
            (st.info if too_long else st.caption)(link.note)   # a text left out of the link is worth a box
            return
        st.code(link.url, language=None, wrap_lines=True)
        if link.note:
            st.caption(link.note)
        qr = share.qr_png(link.url)
        if qr is None:
            st.info("This link is too long for a QR code: share the link itself, or shorten the text.")
        else:
            st.image(qr, caption="Scan with a phone to open this view", width=QR_WIDTH)


def text_downloads(trace: ExampleTrace, unit: str, hide_gone: bool) -> None:
    """The layer-by-layer token view as an HTML page, an SVG and a PNG (made when clicked)."""
    _downloads("tokens-by-layer", {"html": partial(export.text_view_html, trace, unit, hide_gone),
                                   "svg": partial(export.text_view_svg, trace, unit, hide_gone),
                                   "png": partial(export.text_view_png, trace, unit, hide_gone)})


def picture_downloads(result: PictureResult) -> None:
    """The picture after each layer as an HTML page and one PNG sheet (made when clicked)."""
    _downloads("patches-by-layer", {
        "html": partial(export.pictures_html, result.trace, result.layer_images, result.captions),
        "png": partial(export.pictures_png, result.layer_images, result.captions)})


MIME = {"html": "text/html", "svg": "image/svg+xml", "png": "image/png"}


def _downloads(stem: str, makers: dict[str, Callable[[], bytes]]) -> None:
    for column, (kind, make) in zip(st.columns(len(makers) + 2), makers.items()):   # + 2: buttons stay narrow
        column.download_button(f"Download {kind.upper()}", make, file_name=f"{stem}.{kind}", mime=MIME[kind],
                               key=f"do_export_{stem}_{kind}", on_click="ignore", icon=":material/download:",
                               width="stretch")
