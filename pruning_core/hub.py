"""Where a dataset split comes from: the local data directory, else a parquet file on the Hugging Face hub.

The one home of three rules shared by the text loaders (`pruning_core.text.data`) and CIFAR-10
(`pruning_core.vision.data`):
  - the local layout, `<data_dir>/<dataset>/<split>.parquet` (the folder comes from `paths.data_dir`);
  - which hub file holds each split (`HUB_FILES`, a table: repository, revision, file name);
  - fetching that file with `huggingface_hub.hf_hub_download`, or raising `DatasetUnavailableError` with
    one message that says what was looked for, what failed and what to do.
Downloads land in the hub library's own cache (so a second run reads them from disk) and follow its
settings: with `HF_HUB_OFFLINE=1` only an already cached file is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import paths
from .paths import DATA_DIR_ENV

SPLITS = ("train", "test")   # the splits every loader accepts


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
        why = ("HF_HUB_OFFLINE is set and the file is not in the hub cache" if constants.HF_HUB_OFFLINE
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


def download_notes(datasets: Iterable[str], data_dir: str | Path | None = None,
                   splits: Iterable[str] = SPLITS, sizes: bool = True) -> list[str]:
    """One line per split that is not in the local folder: the hub file it will come from (with its size when
    `sizes` and the hub tells it cheaply; without `sizes`, no network at all). Empty when everything is local."""
    notes, ask, splits = [], sizes, tuple(splits)
    for dataset in datasets:
        for split in splits:
            source = split_source(dataset, split, data_dir)
            if not source.from_hub:
                continue
            size = hub_file_size(source.hub) if ask and not source.cached else None
            ask = ask and (size is not None or source.cached)   # one failed look-up: the hub is out of reach
            notes.append(describe(source, size))
    return notes


def describe(source: SplitSource, size: int | None = None) -> str:
    """A one-line account of where a split will be read from."""
    if source.local_found:
        return f"{source.dataset} {source.split}: local file {source.local}"
    if source.cached:
        return f"{source.dataset} {source.split}: hub file {source.hub}, already in the hub cache"
    megabytes = f", {size / 1e6:.1f} MB" if size is not None else ""
    return f"{source.dataset} {source.split}: will download hub file {source.hub}{megabytes}"


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
