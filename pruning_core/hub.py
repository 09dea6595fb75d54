"""Where a dataset split comes from: the local data directory, else a parquet file on the Hugging Face hub.

The one home of three rules shared by the text loaders (`pruning_core.text.data`) and CIFAR-10
(`pruning_core.vision.data`):
  - the local layout, `<data_dir>/<dataset>/<split>.parquet` (the folder comes from `paths.data_dir`);
  - which hub file holds each split (`HUB_FILES`, a table: repository, revision, file name);
  - fetching that file with `huggingface_hub.hf_hub_download`, or raising `DatasetUnavailableError` with
    one message that says what was looked for, what failed and what to do.
Downloads land in the hub library's own cache (so a second run reads them from disk) and follow its
settings: with `HF_HUB_OFFLINE=1` only an already cached file is used. `why_offline` says whether a download can
happen at all (that setting, else one short probe of the hub, remembered for a few minutes), so that no note
promises a download that cannot happen.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import paths
from .paths import DATA_DIR_ENV

SPLITS = ("train", "test")   # the splits every loader accepts
PROBE_SECONDS = 1.0          # the longest a probe of the hub may hold up a caller (a page, a build's notes)
PROBE_TTL_SECONDS = 300.0    # how long a probe's answer is trusted
OFFLINE_SETTING = "HF_HUB_OFFLINE is set"   # why_offline's reason when the setting forbids downloads


class DatasetUnavailableError(RuntimeError):
    """Neither the data directory nor the hub could provide the dataset; the message says how to fix it."""


@dataclass(frozen=True)
class HubFile:
    """One parquet file in a Hugging Face dataset repository."""

    repo_id: str
    filename: str
    revision: str = "main"

    def __str__(self) -> str:
        # The hub's own address for it (pandas and huggingface_hub.HfFileSystem read it as is).
        at = "" if self.revision == "main" else f"@{self.revision}"
        return f"hf://datasets/{self.repo_id}{at}/{self.filename}"


# (dataset, split) -> the hub file holding it. The file names are those on each repository's main branch,
# as its dataset card's "Use this dataset > pandas" snippet lists them (they were not checked against the
# live hub from the machine that wrote this table, which reaches no hub). Should a repository move its
# files, each also has a branch `refs/convert/parquet` with `<config>/<split>/0000.parquet`: change the
# revision and file name here, nothing else. Columns: IMDb and AG News `text`, `label`;
# CIFAR-10 `img` ({bytes, path}, PNG) and `label`.
HUB_FILES: dict[tuple[str, str], HubFile] = {
    ("imdb", "train"): HubFile("stanfordnlp/imdb", "plain_text/train-00000-of-00001.parquet"),
    ("imdb", "test"): HubFile("stanfordnlp/imdb", "plain_text/test-00000-of-00001.parquet"),
    ("ag_news", "train"): HubFile("fancyzhx/ag_news", "data/train-00000-of-00001.parquet"),
    ("ag_news", "test"): HubFile("fancyzhx/ag_news", "data/test-00000-of-00001.parquet"),
    ("cifar10", "train"): HubFile("uoft-cs/cifar10", "plain_text/train-00000-of-00001.parquet"),
    ("cifar10", "test"): HubFile("uoft-cs/cifar10", "plain_text/test-00000-of-00001.parquet"),
}


def hub_file(dataset: str, split: str) -> HubFile:
    """The hub file holding `dataset`'s `split` (ValueError for a pair the table lacks)."""
    try:
        return HUB_FILES[dataset, split]
    except KeyError:
        known = ", ".join(f"{d} {s}" for d, s in HUB_FILES)
        raise ValueError(f"No hub file for {dataset} {split}; known: {known}.") from None


def local_file(dataset: str, split: str, data_dir: str | Path | None = None) -> Path | None:
    """The local file looked for, `<data_dir>/<dataset>/<split>.parquet` (None: there is no data directory)."""
    folder = paths.data_dir(data_dir)
    return folder / dataset / f"{split}.parquet" if folder is not None else None


@dataclass(frozen=True)
class SplitSource:
    """Where a split will be read from: the local file when it exists, else the hub file."""

    dataset: str
    split: str
    local: Path | None     # the local file looked for (None: no data directory)
    hub: HubFile
    local_found: bool
    cached: bool           # the hub file is already in the hub library's cache

    @property
    def from_hub(self) -> bool:
        return not self.local_found


def split_source(dataset: str, split: str, data_dir: str | Path | None = None) -> SplitSource:
    """Whether `dataset`'s `split` comes from the local folder or which hub file it needs (no network used)."""
    local, remote = local_file(dataset, split, data_dir), hub_file(dataset, split)
    found = local is not None and local.is_file()
    return SplitSource(dataset, split, local, remote, found, cached=not found and _in_hub_cache(remote))


def fetch(dataset: str, split: str, local: Path | None) -> Path:
    """Download (or find in the hub cache) the hub file for a split that `local` lacks; its path on disk.

    Raises DatasetUnavailableError naming `local`, the hub file, why the hub failed and what to do."""
    import huggingface_hub
    from huggingface_hub import constants

    remote = hub_file(dataset, split)
    try:
        return Path(huggingface_hub.hf_hub_download(remote.repo_id, remote.filename, repo_type="dataset",
                                                    revision=remote.revision))
    except Exception as error:  # offline, hub down, file moved, auth: one clear message for them all
        # Offline, the library's own message is long and generic; ours says why in a few words.
        why = (f"{OFFLINE_SETTING} and the file is not in the hub cache" if constants.HF_HUB_OFFLINE
               else _one_line(error))
        raise DatasetUnavailableError(unavailable_message(dataset, split, local, remote, why)) from error


def unavailable_message(dataset: str, split: str, local: Path | None, remote: HubFile, why: str) -> str:
    """Cannot load <what>: <local looked for>, and <hub file> could not be fetched (<why>). <What to do>."""
    where = f"no file at {local}" if local is not None else "no data directory"
    return (f"Cannot load {dataset} {split}: {where}, and the hub file {remote} could not be fetched "
            f"({why}). Put {dataset}/{split}.parquet in a data directory and pass --data-dir or set "
            f"{DATA_DIR_ENV}, or go online (HF_HUB_OFFLINE unset) so the hub file can be downloaded.")


def hub_file_size(remote: HubFile, timeout: float = 5.0) -> int | None:
    """The file's size in bytes from one HEAD request to the hub; None when offline or the hub does not answer."""
    try:
        import huggingface_hub
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            return None
        url = huggingface_hub.hf_hub_url(remote.repo_id, remote.filename, repo_type="dataset",
                                         revision=remote.revision)
        return huggingface_hub.get_hf_file_metadata(url, timeout=timeout).size
    except Exception:  # a size is a nicety: never let it stop anything
        return None


def split_sources(datasets: Iterable[str], data_dir: str | Path | None = None,
                  splits: Iterable[str] = SPLITS) -> list[SplitSource]:
    """split_source for every split of every dataset, in that order (no network used)."""
    splits = tuple(splits)
    return [split_source(dataset, split, data_dir) for dataset in datasets for split in splits]


def download_notes(datasets: Iterable[str], data_dir: str | Path | None = None,
                   splits: Iterable[str] = SPLITS, sizes: bool = True) -> list[str]:
    """One line per split that is not in the local folder: the hub file it will come from (with its size when
    `sizes` and the hub tells it cheaply), or why it cannot be downloaded now (see `why_offline`). Empty when
    everything is local. Without `sizes` the network is used only by `why_offline`'s short, remembered probe."""
    sources = [source for source in split_sources(datasets, data_dir, splits) if source.from_hub]
    offline = why_offline() if any(not source.cached for source in sources) else None
    notes, ask = [], sizes and offline is None
    for source in sources:
        size = hub_file_size(source.hub) if ask and not source.cached else None
        ask = ask and (size is not None or source.cached)   # one failed look-up: ask no more
        notes.append(describe(source, size, offline))
    return notes


def describe(source: SplitSource, size: int | None = None, offline: str | None = None) -> str:
    """A one-line account of where a split will be read from; `offline` (why_offline's reason) when the hub cannot
    be used now, so a split needing a download says it cannot have one."""
    name = f"{source.dataset} {source.split}"
    if source.local_found:
        return f"{name}: local file {source.local}"
    if source.cached:
        return f"{name}: hub file {source.hub}, already in the hub cache"
    if offline:
        return f"{name}: cannot be downloaded ({offline}): hub file {source.hub}"
    megabytes = f", {size / 1e6:.1f} MB" if size is not None else ""
    return f"{name}: will download hub file {source.hub}{megabytes}"


def why_offline() -> str | None:
    """Why nothing can be downloaded from the hub now, in a few words; None when it can (as far as a probe tells).

    HF_HUB_OFFLINE decides first (the hub library then refuses every download); else the hub's address is probed
    once (at most PROBE_SECONDS, the answer trusted for PROBE_TTL_SECONDS)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return OFFLINE_SETTING
    if not hub_reachable(constants.ENDPOINT):
        return f"{constants.ENDPOINT} cannot be reached from this machine"
    return None


_probes: dict[str, tuple[float, bool]] = {}   # address -> (when probed, answered)


def hub_reachable(url: str) -> bool:
    """Whether `url` answered a probe in the last PROBE_TTL_SECONDS (probing it now, for at most PROBE_SECONDS,
    when there is no fresh answer)."""
    known = _probes.get(url)
    if known is None or time.monotonic() - known[0] >= PROBE_TTL_SECONDS:
        known = _probes[url] = (time.monotonic(), probe(url, PROBE_SECONDS))
    return known[1]


def probe(url: str, timeout: float) -> bool:
    """Whether `url` answers an HTTP HEAD request (any status) within `timeout` seconds, name look-up included."""
    import urllib.error
    import urllib.request

    answered = []

    def ask() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
        except urllib.error.HTTPError:      # an error status is still an answer: the server is there
            pass
        except Exception:  # no route, no name, refused, timed out: no answer
            return
        answered.append(True)

    # A thread, because a name look-up ignores urlopen's timeout; one still running is left to finish alone.
    worker = threading.Thread(target=ask, daemon=True, name="hub-probe")
    worker.start()
    worker.join(timeout)
    return bool(answered)


def _in_hub_cache(remote: HubFile) -> bool:
    try:
        import huggingface_hub

        found = huggingface_hub.try_to_load_from_cache(remote.repo_id, remote.filename, revision=remote.revision,
                                                       repo_type="dataset")
    except Exception:  # an unreadable cache counts as empty
        return False
    return isinstance(found, str)


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else ""
    line = line if len(line) <= 200 else line[:197] + "..."
    return f"{type(error).__name__}: {line}" if line else type(error).__name__
