"""Settings that outlive a page: widget values survive a change of page, and a view's settings travel in its URL.

Streamlit forgets the value of every widget a run does not draw, so changing page would reset the typed text and
the sliders; `keep_settings`, called by the entry point on every run, re-assigns them so they stay. A view opened
from a URL (`/Live_text?text=...&method=topk&keep=0.3`) starts from the settings in it (`load_from_url`), and the
view writes its current settings back into the URL on every run (`save_to_url`), so the address bar always holds
a link that reopens what is on screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import streamlit as st

# Keys Streamlit refuses to preset (buttons, file uploaders) start with these; so do this module's own keys.
UNSETTABLE_PREFIXES = ("do_", "upload_", "_")
# Longest text written into a URL: browsers and servers cut longer addresses.
MAX_URL_TEXT = 1500


@dataclass(frozen=True)
class UrlParam:
    """One setting as it appears in a URL."""

    name: str                          # the query parameter
    key: str                           # the widget's session-state key
    kind: type = str                   # str, int, float or bool
    choices: Sequence[str] = ()        # for str: the values allowed (empty: any, checked by the page)
    low: float | None = None           # for numbers: the range allowed
    high: float | None = None
    check: Callable[[object], object] | None = None   # a last check of the typed value (a method's control's)

    def parse(self, raw: str) -> object:
        """The value in its type; ValueError when the URL's text is not a valid value."""
        value = self._typed(raw)
        return value if self.check is None else self.check(value)

    def _typed(self, raw: str) -> object:
        if self.kind is bool:
            if raw.lower() not in ("1", "0", "true", "false"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true")
        if self.kind in (int, float):
            value = self.kind(raw)
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ValueError(raw)
            return value
        if self.choices and raw not in self.choices:
            raise ValueError(raw)
        return raw

    def format(self, value: object) -> str | None:
        """The value as URL text; None when it should stay out of the URL (a text too long to share)."""
        if self.kind is bool:
            return "1" if value else "0"
        if isinstance(value, str) and len(value) > MAX_URL_TEXT:
            return None
        return f"{value:g}" if isinstance(value, float) else str(value)


def keep_settings() -> None:
    """Re-assign every plain setting in session state, so widgets a page does not draw keep their values."""
    for key, value in list(st.session_state.items()):
        if isinstance(key, str) and not key.startswith(UNSETTABLE_PREFIXES) and _plain(value):
            st.session_state[key] = value


def load_from_url(view: str, params: Sequence[UrlParam]) -> list[str]:
    """Apply the URL's settings to session state when the URL is new to this session (opened from a link), not
    when it is the one `save_to_url` wrote; returns the names of the parameters that were ignored as invalid."""
    given = {param.name: st.query_params[param.name] for param in params if param.name in st.query_params}
    if not given or given == st.session_state.get(_written_key(view)):
        return []
    ignored = []
    for param in params:
        if param.name in given:
            try:
                st.session_state[param.key] = param.parse(given[param.name])
            except ValueError:
                ignored.append(param.name)
    return ignored


def url_values(params: Sequence[UrlParam]) -> tuple[dict[str, str], list[str]]:
    """The URL text of each setting set (those never set stay out), and the names of those too long for a URL."""
    written, too_long = {}, []
    for param in params:
        if param.key in st.session_state:
            text = param.format(st.session_state[param.key])
            if text is None:
                too_long.append(param.name)
            else:
                written[param.name] = text
    return written, too_long


def save_to_url(view: str, params: Sequence[UrlParam]) -> None:
    """Write the current value of each setting into the URL (leaving out those never set or too long)."""
    written, _ = url_values(params)
    st.session_state[_written_key(view)] = written
    if dict(st.query_params) != written:
        st.query_params.from_dict(written)


def open_from_url(view: str, params: Sequence[UrlParam]) -> None:
    """Start the view from its URL's settings (see load_from_url), saying which of them could not be used."""
    if ignored := load_from_url(view, params):
        listed = ", ".join(f"`{name}`" for name in ignored)
        st.warning(f"The link's {listed} could not be used (unknown value or out of range); the default is shown "
                   "instead.")


def valid_choice(key: str, options: Sequence) -> None:
    """Forget a stored choice that is no longer among the options (another model, a stale link)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def within(key: str, low: float, high: float) -> None:
    """Forget a stored number outside [low, high] (a setting of another model, a stale link)."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        del st.session_state[key]


def _written_key(view: str) -> str:
    return f"_url_{view}"


def _plain(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return all(isinstance(item, (str, int, float, bool)) for item in value)
    return isinstance(value, (str, int, float, bool)) or value is None
