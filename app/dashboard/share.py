"""Links that reopen a view, and their QR codes (the widgets showing them are in share_ui).

A view writes its settings into its URL (state.save_to_url); the link to share is the page's address with those
settings as its query. The address comes from the browser (`st.context.url`), or failing that from the request's
Host header. A text too long for a URL is kept on this server and the link carries its id (state.UrlParam.store);
a view whose text could not be kept gets a note instead of a link that would open something else.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence
from urllib.parse import quote, urlencode

import segno

from .state import MAX_URL_TEXT

# A Host header is a host name or address with an optional port; anything else is not used to build a link.
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")
QR_ERROR = "m"   # the error correction level: ~15% of the code may be smudged and still read


@dataclass(frozen=True)
class ShareLink:
    url: str | None          # the link, or None when this view cannot travel in one
    note: str | None = None  # why there is no link, or what a phone needs to know about it


def page_address(context_url: str | None, headers: Mapping[str, str], page_path: str,
                 base_path: str = "") -> str | None:
    """The page's address without a query: the browser's own (`st.context.url`), else one built from the request's
    Host header (and X-Forwarded-Proto behind a proxy); None when neither is known or the host looks wrong."""
    if context_url:
        return context_url.split("?", 1)[0].split("#", 1)[0]
    lowered = {name.lower(): value for name, value in headers.items()}
    host = lowered.get("x-forwarded-host") or lowered.get("host") or ""
    if not _HOST.match(host):
        return None
    scheme = lowered.get("x-forwarded-proto", "http").split(",")[0].strip().lower()
    path = "/".join(part for part in (base_path.strip("/"), page_path.strip("/")) if part)
    return f"{'https' if scheme == 'https' else 'http'}://{host}/{path}"


def view_link(address: str | None, values: Mapping[str, str], too_long: Sequence[str] = (),
              stored: Sequence[str] = ()) -> ShareLink:
    """The link that reopens a view: its page's address and its settings (`state.url_values`); `stored` names the
    settings whose value is kept on this server, the link carrying only its id."""
    if too_long:
        return ShareLink(None, f"This view's {_listed(too_long)} is longer than a link can carry ({MAX_URL_TEXT:,} "
                               "characters) and could not be saved on this server for one, so there is no link to "
                               "it: shorten the text, or share the text itself.")
    if address is None:
        return ShareLink(None, "This app's address is not known here (it is read from the browser), so no link "
                               "can be made: copy the address bar instead.")
    query = urlencode(dict(values), quote_via=quote)
    url = f"{address}?{query}" if query else address
    notes = []
    if stored:
        notes.append(f"This view's {_listed(stored)} is too long for a link, so it is saved on this server and the "
                     "link carries its id: the link opens it from this app only.")
    if any(f"//{host}" in address for host in _LOCAL_HOSTS):
        notes.append("This link points at this computer (localhost), which a phone cannot reach: open the app by the "
                     "computer's network address (start it with `--server.address 0.0.0.0`) to share it.")
    return ShareLink(url, " ".join(notes) or None)


def _listed(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


@lru_cache(maxsize=32)
def qr_png(text: str, scale: int = 6) -> bytes | None:
    """A QR code of `text` as PNG; None when it is too long for a QR code (about 2,300 characters of link)."""
    try:
        code = segno.make(text, error=QR_ERROR, micro=False)
    except segno.DataOverflowError:
        return None
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
