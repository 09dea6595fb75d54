"""Settings that outlive a page: widget values survive a change of page, and a view's settings travel in its URL.

Streamlit forgets the value of every widget a run does not draw, so changing page would reset the typed text and
the sliders; `keep_settings`, called by the entry point on every run, re-assigns them so they stay. A view opened
from a URL (`/Live_text?text=...&method=topk&keep=0.3`) starts from the settings in it (`load_from_url`), and the
view writes its current settings back into the URL on every run (`save_to_url`), so the address bar always holds
a link that reopens what is on screen.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, Sequence

import streamlit as st

# Keys Streamlit refuses to preset (buttons, file uploaders) start with these; so do this module's own keys.
UNSETTABLE_PREFIXES = ("do_", "upload_", "_")
# Longest text written into a URL: browsers and servers cut longer addresses. A longer text goes to the param's
# `store`, and the URL carries STORED_MARK + its id; a plain text starting with STORED_MARK gets a second one, so the
# two never mix up (`text=~3f9a...` is a stored text, `text=~~hi` the text "~hi").
MAX_URL_TEXT = 1500
STORED_MARK = "~"


class TextStore(Protocol):
    """Where texts too long for a URL are kept (dashboard.stored_inputs.TEXTS)."""

    def save(self, text: str) -> str: ...          # the text's id; OSError when it cannot be kept

    def load(self, content_id: str) -> str: ...    # the text; ValueError (a reason fit to show) when there is none


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
    store: TextStore | None = None     # for str: where a text too long for a URL is kept (else it stays out)

    def parse(self, raw: str) -> object:
        """The value in its type; ValueError when the URL's text is not a valid value."""
        value = self._typed(raw)
        return value if self.check is None else self.check(value)

    def _typed(self, raw: str) -> object:
        if self.kind is bool:
            if raw.lower() not in ("1", "0", "true", "false"):
                raise ValueError("must be 1 or 0 (true or false)")
            return raw.lower() in ("1", "true")
        if self.kind in (int, float):
            try:
                value = self.kind(raw)
            except ValueError:
                raise ValueError(f"must be {'a whole number' if self.kind is int else 'a number'}") from None
            if self.check is not None:
                return value                   # the check says what is allowed (a control's range)
            if not math.isfinite(value) or (self.low is not None and value < self.low) or (
                    self.high is not None and value > self.high):
                bounds = ("" if self.low is None and self.high is None
                          else f" in [{_bound(self.low)}, {_bound(self.high)}]")
                raise ValueError(f"must be a finite number{bounds}")
            return value
        if self.choices and raw not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        if self.store is not None and raw.startswith(STORED_MARK):
            return self.store.load(raw[1:]) if self.is_stored(raw) else raw[1:]
        return raw

    def is_stored(self, text: str) -> bool:
        """Whether this URL text is a reference to a text in the store (not a text itself)."""
        return self.store is not None and text.startswith(STORED_MARK) and not text.startswith(STORED_MARK * 2)

    def format(self, value: object) -> str | None:
        """The value as URL text; None when it should stay out of the URL (a text too long for one, with no store
        or one that cannot keep it). A text kept in the store is saved here, so the URL's reference always opens."""
        if self.kind is bool:
            return "1" if value else "0"
        if isinstance(value, str) and self.store is not None:
            if len(value) <= MAX_URL_TEXT:
                return STORED_MARK + value if value.startswith(STORED_MARK) else value
            try:
                return STORED_MARK + self.store.save(value)
            except OSError:
                return None
        if isinstance(value, str) and len(value) > MAX_URL_TEXT:
            return None
        return f"{value:g}" if isinstance(value, float) else str(value)


def keep_settings() -> None:
    """Re-assign every plain setting in session state, so widgets a page does not draw keep their values."""
    for key, value in list(st.session_state.items()):
        if isinstance(key, str) and not key.startswith(UNSETTABLE_PREFIXES) and _plain(value):
            st.session_state[key] = value


# Streamlit's own query parameters (embedding options): never a view's setting, never noted.
STREAMLIT_PARAMS = ("embed", "embed_options")
SHOWN_CHARS = 40   # a note quotes at most this much of a value


@dataclass(frozen=True)
class UrlNote:
    """A value in a link this view did not use as given."""

    name: str           # the query parameter
    given: str          # its text in the link
    reason: str         # why it was not used as given ("" when the page adjusted it)
    key: str | None     # the setting it is for; None when it is not a setting of this view


def read_url(params: Sequence[UrlParam], query: Mapping[str, list[str]]) -> tuple[dict[str, object], list[UrlNote]]:
    """A link's settings for a view: each declared parameter's value (the last when repeated), by session key, and
    a note for every name the view does not take, every repeated name and every value refused."""
    by_name = {param.name: param for param in params}
    values, notes = {}, []
    for name, texts in query.items():
        if name in STREAMLIT_PARAMS or not texts:
            continue
        given, param = texts[-1], by_name.get(name)
        if param is None:
            notes.append(UrlNote(name, given, "is not a setting of this page", None))
            continue
        if len(texts) > 1:
            notes.append(UrlNote(name, " / ".join(texts), f"was given {len(texts)} times: the last counts", param.key))
        try:
            values[param.key] = param.parse(given)
        except ValueError as error:
            notes.append(UrlNote(name, given, _reason(error), param.key))
    return values, notes


def load_from_url(view: str, params: Sequence[UrlParam]) -> list[UrlNote]:
    """Apply the URL's settings to session state when the URL is new to this session (opened from a link), not
    when it is the one `save_to_url` wrote; returns notes on what could not be used (see read_url). The values
    applied are remembered, so that `save_to_url` can say which the page then had to change."""
    st.session_state.pop(_applied_key(view), None)
    query = {name: st.query_params.get_all(name) for name in st.query_params}
    if not query or {name: texts[-1] for name, texts in query.items()} == st.session_state.get(_written_key(view)):
        return []
    values, notes = read_url(params, query)
    st.session_state.update(values)
    st.session_state[_applied_key(view)] = values
    return notes


def set_by_link(key: str) -> bool:
    """Whether a link opened in this run set this setting (its page will say so if the value cannot be used)."""
    return any(key in applied for name, applied in st.session_state.items()
               if isinstance(name, str) and name.startswith(_applied_key("")))


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


def open_from_url(view: str, params: Sequence[UrlParam]) -> None:
    """Start the view from its URL's settings (see load_from_url). What could not be used is said once, at the top
    of the page, by `save_to_url` (which knows the values the page then used)."""
    st.session_state[_notes_key(view)] = (st.container(), load_from_url(view, params))


def save_to_url(view: str, params: Sequence[UrlParam]) -> None:
    """Write the current value of each setting into the URL (leaving out those never set or too long); the first
    time after a link was opened, say which of its values were refused or changed, and what was used instead."""
    written, _ = url_values(params)
    if (opened := st.session_state.pop(_notes_key(view), None)) is not None:
        slot, notes = opened
        notes += adjusted(st.session_state.pop(_applied_key(view), {}), params)
        if notes:
            slot.warning(notes_text(notes, {param.key: param for param in params}))
    st.session_state[_written_key(view)] = written
    if dict(st.query_params) != written:
        st.query_params.from_dict(written)


def ignore_url(view: str) -> None:
    """For a page without settings in its URL: note any parameter a link gave it, and clear them."""
    if st.query_params:
        open_from_url(view, ())
        save_to_url(view, ())


def adjusted(applied: Mapping[str, object], params: Sequence[UrlParam]) -> list[UrlNote]:
    """Notes for the link's values the page changed after accepting them (a model's own range, a picture index past
    the last picture, a model that is not here)."""
    notes = []
    for param in params:
        if param.key in applied and st.session_state.get(param.key) != applied[param.key]:
            notes.append(UrlNote(param.name, param.format(applied[param.key]) or "…", "", param.key))
    return notes


def notes_text(notes: Sequence[UrlNote], params_by_key: Mapping[str, UrlParam]) -> str:
    """One Markdown note: per refused value, the parameter, the value given, why, and the value used instead."""
    lines = []
    for note in notes:
        line = f"- `{note.name}={_shown(note.given)}`" + (f" {note.reason}" if note.reason else " does not fit here")
        if note.key is not None:
            param = params_by_key.get(note.key)
            used = st.session_state.get(note.key)
            text = None if param is None or used is None else param.format(used)
            line += f"; using `{_shown(text)}`." if text is not None else "; ignored."
        else:
            line += ": ignored."
        lines.append(line)
    return "**This link's settings could not all be used as given.**\n\n" + "\n".join(lines)


def _reason(error: ValueError) -> str:
    """A refusal's message to follow the parameter: "keep_ratio must be …" reads "must be …"."""
    return re.sub(r"^[\w ]+? (?=must )", "", str(error)).rstrip(".")


def _shown(text: str) -> str:
    """A value safe inside a Markdown code span: no backticks or line breaks, at most SHOWN_CHARS characters."""
    flat = " ".join(str(text).replace("`", "'").split())
    return flat if len(flat) <= SHOWN_CHARS else flat[:SHOWN_CHARS - 1] + "…"


def valid_choice(key: str, options: Sequence) -> None:
    """Forget a stored choice that is no longer among the options (another model, a stale link)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def within(key: str, low: float, high: float) -> None:
    """Forget a stored number outside [low, high] (a setting of another model, a stale link)."""
    value = st.session_state.get(key)
    if isinstance(value, (int, float)) and not low <= value <= high:
        del st.session_state[key]


def _bound(limit: float | None) -> str:
    return "…" if limit is None else f"{limit:g}"


def _written_key(view: str) -> str:
    return f"_url_{view}"


def _applied_key(view: str) -> str:
    return f"_url_applied_{view}"


def _notes_key(view: str) -> str:
    return f"_url_notes_{view}"


def _plain(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return all(isinstance(item, (str, int, float, bool)) for item in value)
    return isinstance(value, (str, int, float, bool)) or value is None
