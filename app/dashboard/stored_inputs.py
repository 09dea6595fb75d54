"""Texts and pictures too big for a link, kept on the server under a short content id that the link carries.

A text longer than `state.MAX_URL_TEXT` cannot travel in a URL (`TEXTS`, the store of Live text's and Classroom's
`text`), nor can an uploaded picture (`PICTURES`): each is saved as one file, <artifacts>/shared/<id><suffix>
(`pruning_core.paths.shared_inputs_dir`), named by the first characters of its SHA-256, and the link carries the id.
The same content always gets the same id, so saving it again costs a hash and a `stat`, and a link keeps working as
long as its file is kept. Files are written whole or not at all (a temporary file, then
an atomic rename), so a link opened while its file is being written never reads half of it.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pruning_core import paths
from pruning_core.vision.images import MAX_FILE_BYTES

from .live import MAX_INPUT_CHARS

KEPT_FILES = 2000                   # per kind: saving a new one beyond this forgets the least recently saved
ID_LENGTH = 20                      # hex characters of the SHA-256: 80 bits, no collision in any lifetime of links
_ID = re.compile(rf"[0-9a-f]{{{ID_LENGTH}}}")


@dataclass(frozen=True)
class Shelf:
    """One kind of input kept for links: its file suffix, the most bytes kept, and its name in notes."""

    suffix: str
    max_bytes: int
    noun: str
    folder: Path | None = None      # None: `paths.shared_inputs_dir()` when used (it follows $LENS_ARTIFACTS)

    def save(self, data: bytes) -> str:
        """Keep `data` and return its id; ValueError over max_bytes, OSError when it cannot be written."""
        if len(data) > self.max_bytes:
            raise ValueError(f"data is {len(data):,} bytes, over the {self.max_bytes:,} kept for a {self.noun}.")
        content_id = hashlib.sha256(data).hexdigest()[:ID_LENGTH]
        target = self._file(content_id)
        if target.is_file():
            target.touch()                 # saved again: the most recently saved, the last to be forgotten
        else:
            _write_atomically(target, data)
            self._forget_oldest(keep=KEPT_FILES)
        return content_id

    def check(self, content_id: object) -> str:
        """`content_id` when something is saved under it; ValueError (a reason fit to show after the parameter's
        name) when the id is malformed or unknown."""
        if not isinstance(content_id, str) or not _ID.fullmatch(content_id):
            raise ValueError(f"is not the id of a saved {self.noun} ({ID_LENGTH} characters 0-9 and a-f)")
        if not self._file(content_id).is_file():
            raise ValueError(f"names no {self.noun} saved on this server (it may have been removed)")
        return content_id

    def load(self, content_id: str) -> bytes:
        """The data saved under `content_id`; ValueError as in `check`."""
        try:
            return self._file(self.check(content_id)).read_bytes()
        except FileNotFoundError:       # removed since the check
            raise ValueError(f"names no {self.noun} saved on this server (it may have been removed)") from None

    def _forget_oldest(self, keep: int) -> None:
        """Remove all but the `keep` most recently saved files of this kind (old links then say their file is
        gone), so that the folder does not grow without bound."""
        files = list(self._file("x").parent.glob(f"*{self.suffix}"))
        if len(files) > keep:
            for old in sorted(files, key=lambda file: file.stat().st_mtime)[:len(files) - keep]:
                old.unlink(missing_ok=True)

    def _file(self, content_id: str) -> Path:
        return (self.folder or paths.shared_inputs_dir()) / f"{content_id}{self.suffix}"


@dataclass(frozen=True)
class TextShelf:
    """Texts for links (`state.UrlParam.store`): kept up to MAX_INPUT_CHARS characters, all that the app reads, so
    a longer text reopens as its first MAX_INPUT_CHARS characters and classifies the same."""

    shelf: Shelf = Shelf(".txt", 4 * MAX_INPUT_CHARS, "text")   # UTF-8 takes at most 4 bytes a character

    def save(self, text: str) -> str:
        """Keep the text's first MAX_INPUT_CHARS characters; returns their id (OSError when they cannot be written)."""
        return self.shelf.save(text[:MAX_INPUT_CHARS].encode("utf-8", errors="surrogatepass"))

    def load(self, content_id: str) -> str:
        """The text saved under `content_id`; ValueError (a reason fit to show) when there is none to read."""
        try:
            return self.shelf.load(content_id).decode("utf-8", errors="surrogatepass")
        except UnicodeDecodeError:
            raise ValueError("names a saved file that is not a text") from None


TEXTS = TextShelf()
# Uploaded pictures, as uploaded (already read as a picture by the page), up to the upload limit.
PICTURES = Shelf(".picture", MAX_FILE_BYTES, "picture")


def _write_atomically(target: Path, data: bytes) -> None:
    """Write into a temporary file beside target, then rename it over target (atomic on one file system)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".saving-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
