"""Datasets from the Hugging Face hub when no local file exists, with no network: `hf_hub_download` is replaced
by a stand-in that hands back parquet files written here, laid out as the hub's are."""
from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pandas as pd
import pytest
from huggingface_hub import constants
from huggingface_hub.errors import EntryNotFoundError
from PIL import Image

from pipeline_data import made_up_split
from pruning_core import hub, paths
from pruning_core.text.data import DATASETS, DatasetUnavailableError, load_dataset
from pruning_core.vision import load_cifar10

EXPECTED_REPOS = {"imdb": "stanfordnlp/imdb", "ag_news": "fancyzhx/ag_news", "cifar10": "uoft-cs/cifar10"}
# A raw text per dataset, as the corpus writes it, and what the loader must make of it.
DIRTY = {"imdb": ("A fine<br /><br />film", "A fine film"), "ag_news": ("Oil #36;50 a barrel", "Oil $50 a barrel")}


@pytest.fixture(autouse=True)
def hub_answers(monkeypatch) -> None:
    """The hub's probe answers without the network (tests that need it unreachable say so): set HF_HUB_OFFLINE to
    be offline."""
    monkeypatch.setattr(hub, "_probes", {})
    monkeypatch.setattr(hub, "probe", lambda url, timeout: True)


@pytest.fixture
def no_local_data(tmp_path, monkeypatch) -> Path:
    """LENS_DATA_DIR names an empty folder, so no split is found locally (and ../shared/datasets is not used)."""
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.setenv("LENS_DATA_DIR", str(folder))
    assert paths.data_dir() == folder and not any(folder.iterdir())
    return folder


@pytest.fixture
def fake_hub(tmp_path, monkeypatch) -> SimpleNamespace:
    """`files[(repo_id, filename)] = frame` publishes a table; `calls` records each download asked for."""
    state = SimpleNamespace(files={}, calls=[])
    store = tmp_path / "hub-cache"
    store.mkdir()

    def download(repo_id, filename, *, repo_type=None, revision=None, **kwargs):
        state.calls.append((repo_id, filename, repo_type, revision))
        if (repo_id, filename) not in state.files:
            raise EntryNotFoundError(f"404: {repo_id}/{filename}")
        path = store / f"{len(state.calls)}.parquet"
        state.files[repo_id, filename].to_parquet(path)
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return state


def offline(*args, **kwargs):
    raise OSError("network is unreachable")


def publish_text(fake_hub, dataset: str, split: str) -> pd.DataFrame:
    frame = made_up_split(dataset, 24, seed=2)
    frame.loc[len(frame)] = {"text": DIRTY[dataset][0], "label": 0}
    remote = hub.hub_file(dataset, split)
    fake_hub.files[remote.repo_id, remote.filename] = frame
    return frame


def cifar_table(per_class: int = 3) -> pd.DataFrame:
    """The hub's CIFAR-10 layout: `img` {bytes: PNG, path} and `label`."""
    rows = []
    for label in range(10):
        for number in range(per_class):
            buffer = io.BytesIO()
            Image.new("RGB", (32, 32), (label * 25, number * 40, 100)).save(buffer, format="PNG")
            rows.append({"img": {"bytes": buffer.getvalue(), "path": None}, "label": label})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("dataset", ["imdb", "ag_news"])
def test_a_text_split_missing_locally_is_read_from_its_hub_file_cleaned_and_sampled_as_before(
        dataset, no_local_data, fake_hub, tmp_path):
    frame = publish_text(fake_hub, dataset, "test")
    data = load_dataset(dataset, "test")
    remote = hub.hub_file(dataset, "test")
    assert fake_hub.calls == [(EXPECTED_REPOS[dataset], remote.filename, "dataset", "main")]
    assert data.source == f"hf://datasets/{EXPECTED_REPOS[dataset]}/{remote.filename}"
    assert len(data) == 25 and data.label_names == list(DATASETS[dataset].label_names)
    assert DIRTY[dataset][1] in data.texts and not any("<br" in text for text in data.texts)
    # The same table read from a local folder gives the same examples and the same balanced sample.
    (tmp_path / "local" / dataset).mkdir(parents=True)
    frame.to_parquet(tmp_path / "local" / dataset / "test.parquet")
    local = load_dataset(dataset, "test", tmp_path / "local", limit=8, seed=3)
    sample = load_dataset(dataset, "test", limit=8, seed=3)
    assert (sample.texts, sample.labels) == (local.texts, local.labels) and len(sample) == 8


def test_cifar10_missing_locally_is_read_from_its_hub_file(no_local_data, fake_hub):
    remote = hub.hub_file("cifar10", "train")
    fake_hub.files[remote.repo_id, remote.filename] = cifar_table()
    data = load_cifar10("train")
    assert fake_hub.calls == [("uoft-cs/cifar10", "plain_text/train-00000-of-00001.parquet", "dataset", "main")]
    assert data.source == "hf://datasets/uoft-cs/cifar10/plain_text/train-00000-of-00001.parquet"
    assert data.pixels.shape == (30, 3, 32, 32) and data.image(3).getpixel((5, 5)) == (25, 0, 100)
    sample = load_cifar10("train", limit=20, seed=1)
    assert sorted(sample.labels.tolist()) == sorted(list(range(10)) * 2), "a balanced sample"


def test_without_any_data_directory_the_hub_is_asked(tmp_path, monkeypatch, fake_hub):
    monkeypatch.delenv("LENS_DATA_DIR", raising=False)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "repo")   # no ../shared/datasets beside it
    assert paths.data_dir() is None and hub.local_file("imdb", "train") is None
    publish_text(fake_hub, "imdb", "train")
    assert load_dataset("imdb", "train").source.startswith("hf://datasets/stanfordnlp/imdb/")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(DatasetUnavailableError, match="no data directory"):
        load_dataset("imdb", "test")


@pytest.mark.parametrize("dataset", ["imdb", "ag_news", "cifar10"])
def test_offline_the_error_names_the_local_path_the_hub_file_and_the_fix(dataset, no_local_data, monkeypatch):
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    load = load_cifar10 if dataset == "cifar10" else lambda split: load_dataset(dataset, split)
    with pytest.raises(DatasetUnavailableError) as caught:
        load("train")
    message, remote = str(caught.value), hub.hub_file(dataset, "train")
    assert str(no_local_data / dataset / "train.parquet") in message
    assert f"{remote.repo_id}/{remote.filename}" in message and remote.repo_id == EXPECTED_REPOS[dataset]
    assert "OSError: network is unreachable" in message, "why, in one line"
    assert "LENS_DATA_DIR" in message and "--data-dir" in message and "go online" in message
    assert "\n" not in message


def test_with_hf_hub_offline_the_error_says_so(no_local_data, monkeypatch):
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DatasetUnavailableError, match="HF_HUB_OFFLINE is set and the file is not in the hub cache"):
        load_dataset("ag_news", "test")


def test_the_hub_table_has_a_file_for_every_dataset_and_split_the_loaders_accept(no_local_data, monkeypatch):
    accepted = {(dataset, split) for dataset in [*DATASETS, "cifar10"] for split in hub.SPLITS}
    assert set(hub.HUB_FILES) == accepted
    for (dataset, split), remote in hub.HUB_FILES.items():
        assert remote.repo_id == EXPECTED_REPOS[dataset] and remote.revision == "main"
        assert remote.filename.endswith(".parquet") and f"/{split}-" in remote.filename
    # ...and the loaders accept nothing the table lacks.
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    for load in (lambda: load_dataset("imdb", "validation"), lambda: load_cifar10("unsupervised")):
        with pytest.raises(ValueError, match="Unknown split"):
            load()
    with pytest.raises(ValueError, match="No hub file"):
        hub.hub_file("sst2", "test")


def test_split_source_says_local_file_or_hub_file(tmp_path, monkeypatch):
    (tmp_path / "imdb").mkdir()
    made_up_split("imdb", 4, seed=0).to_parquet(tmp_path / "imdb" / "test.parquet")
    local = hub.split_source("imdb", "test", tmp_path)
    assert local.local_found and not local.from_hub and local.local == tmp_path / "imdb" / "test.parquet"
    assert hub.describe(local) == f"imdb test: local file {tmp_path / 'imdb' / 'test.parquet'}"
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    remote = hub.split_source("imdb", "train", tmp_path)
    assert remote.from_hub and not remote.cached and remote.hub == hub.hub_file("imdb", "train")
    assert remote.local == tmp_path / "imdb" / "train.parquet"


def test_download_notes_list_each_hub_file_with_its_size_once_per_missing_split(tmp_path, monkeypatch):
    for split in hub.SPLITS:
        (tmp_path / "imdb").mkdir(exist_ok=True)
        made_up_split("imdb", 4, seed=0).to_parquet(tmp_path / "imdb" / f"{split}.parquet")
    (tmp_path / "ag_news").mkdir()
    made_up_split("ag_news", 4, seed=0).to_parquet(tmp_path / "ag_news" / "train.parquet")
    asked = []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata",
                        lambda url, **kwargs: asked.append(url) or SimpleNamespace(size=21_000_000))
    notes = hub.download_notes(["imdb", "ag_news", "cifar10"], tmp_path)
    assert notes == [
        "ag_news test: will download hub file hf://datasets/fancyzhx/ag_news/data/test-00000-of-00001.parquet, 21.0 MB",
        "cifar10 train: will download hub file "
        "hf://datasets/uoft-cs/cifar10/plain_text/train-00000-of-00001.parquet, 21.0 MB",
        "cifar10 test: will download hub file hf://datasets/uoft-cs/cifar10/plain_text/test-00000-of-00001.parquet, "
        "21.0 MB"]
    assert len(asked) == 3 and "fancyzhx/ag_news" in asked[0]
    assert hub.download_notes(["imdb"], tmp_path) == [], "everything local: nothing to say"


def test_download_notes_ask_the_hub_for_nothing_offline_or_after_a_failure(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    asked = []

    def unreachable(url, **kwargs):
        asked.append(url)
        raise OSError("timed out")
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", unreachable)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    notes = hub.download_notes(["imdb", "cifar10"], tmp_path)
    assert len(notes) == 4 and all("will download" in note and "MB" not in note for note in notes)
    assert len(asked) == 1, "one failed look-up means the hub is out of reach: ask no more"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert len(hub.download_notes(["ag_news"], tmp_path)) == 2 and len(asked) == 1
    # A file already in the hub cache is read from there: said so, and no size asked for.
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: "/cache/file.parquet")
    assert hub.download_notes(["imdb"], tmp_path, splits=["test"]) == [
        "imdb test: hub file hf://datasets/stanfordnlp/imdb/plain_text/test-00000-of-00001.parquet, "
        "already in the hub cache"]


def test_the_demo_says_what_it_needs_from_the_hub_before_it_starts_and_offline_that_it_cannot_have_it(
        no_local_data, monkeypatch, capsys):
    from pipelines import demo
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DatasetUnavailableError):
        demo.run(("imdb",), None, None, str(no_local_data.parent / "artifacts"))
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[demo] ") and "hub file" in line]
    assert lines == [f"[demo] imdb {split}: cannot be downloaded (HF_HUB_OFFLINE is set): hub file "
                     f"{hub.hub_file('imdb', split)}" for split in hub.SPLITS]
    assert str(hub.hub_file("imdb", "test")) == "hf://datasets/stanfordnlp/imdb/plain_text/test-00000-of-00001.parquet"
    assert "will download" not in out, "offline, no download is promised"
    assert out.index("cannot be downloaded") < out.index("failed"), "announced before the work starts"
    # Online, the same notes say what will be downloaded (sizes asked of the hub, here unreachable).
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "get_hf_file_metadata", offline)
    assert hub.download_notes(["imdb"]) == [f"imdb {split}: will download hub file hf://datasets/stanfordnlp/imdb/"
                                            f"plain_text/{split}-00000-of-00001.parquet" for split in hub.SPLITS]
    # A hub that does not answer the probe is offline too, whatever the setting says.
    monkeypatch.setattr(hub, "_probes", {})
    monkeypatch.setattr(hub, "probe", lambda url, timeout: False)
    assert all(f"cannot be downloaded ({constants.ENDPOINT} cannot be reached from this machine)" in note
               for note in hub.download_notes(["imdb"]))
