"""The Image page's widgets: the ViT picker, the pruning controls, the picture source and the demo-ViT builder.

Models, methods, pictures and their rendering live in dashboard.pictures; this module only wires widgets.
"""
from __future__ import annotations

import random

import streamlit as st

from pruning_core import paths
from pruning_core.methods import PruningMethod
from pruning_core.classifier import ModelLoadError
from pruning_core.vision import DatasetUnavailableError, ImageDataset, ImageError, PrunedVisionClassifier
from pruning_core.vision.images import MAX_FILE_BYTES

from . import catalog, jobs, pictures, state, ui
from .catalog import ModelEntry

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
SOURCES = {"cifar10": "CIFAR-10 test picture", "upload": "Upload a picture"}
VIEWS = {"grid": "Grid of layers", "slider": "Slider"}

# The Image view's settings in its URL (/Image?picture=12&kind=topk&r_max=0.6...); an upload cannot travel in a link.
IMAGE_URL = (
    state.UrlParam("model", "image_model"),
    state.UrlParam("method", "image_kind", choices=tuple(pictures.METHOD_KINDS)),
    state.UrlParam("score", "image_score", choices=tuple(pictures.SCORES)),
    state.UrlParam("r_max", "image_r_max", float, low=0.0, high=0.95),
    state.UrlParam("alpha", "image_alpha", float, low=0.2, high=4.0),
    state.UrlParam("view", "image_view", choices=tuple(VIEWS)),
    state.UrlParam("source", "image_source", choices=tuple(SOURCES)),
    state.UrlParam("picture", "image_index", int, low=0),
)


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_model(key: str, folder: str, stamp: float, _entry: ModelEntry) -> PrunedVisionClassifier:
    """Loaded once per model folder and version, shared by every session."""
    classifier = catalog.load_model(_entry)
    pictures.warm_up(classifier)
    return classifier


def model_sidebar(entries: list[ModelEntry]) -> tuple[ModelEntry, PrunedVisionClassifier]:
    """ViT picker; stops the page with a clear message when the chosen model cannot be loaded."""
    by_key = {entry.key: entry for entry in entries}
    if st.session_state.get("image_model") not in by_key:
        if st.session_state.get("image_model") is not None:
            st.warning("The model this page was set to (by a link or an earlier visit) is not available here: "
                       "showing the default model instead.")
        st.session_state["image_model"] = catalog.default_model(entries).key
    key = st.sidebar.selectbox("Model", list(by_key), format_func=lambda k: by_key[k].label, key="image_model",
                               help="Vision Transformers saved under artifacts/models.")
    entry = by_key[key]
    try:
        return entry, _cached_model(entry.key, str(entry.path), entry.stamp, entry)
    except ModelLoadError as error:
        st.error(f"**This model cannot be loaded.** {error}")
        st.stop()


def method_sidebar(classifier: PrunedVisionClassifier) -> PruningMethod:
    """Pruning controls: a top-k schedule with its scoring and sliders, the model's own schedule, or none."""
    sidebar, own = st.sidebar, classifier.method
    state.valid_choice("image_kind", pictures.available_kinds(own))
    kind = sidebar.radio("Pruning", pictures.available_kinds(own), format_func=pictures.METHOD_KINDS.get, key="image_kind")
    if kind == "own":
        sidebar.caption(own.describe())
    if not pictures.supports_scoring(kind):
        return pictures.build_vision_method(pictures.VisionSetting(kind=kind), own)
    score = sidebar.radio("Rank patches by", list(pictures.SCORES), format_func=pictures.SCORES.get, key="image_score",
                          help="CLS attention: how much the CLS token attends to a patch (the vision study's "
                               "choice). Mean attention received: what every token gives it, averaged (LTP's).")
    r_max = sidebar.slider("r_max", 0.0, 0.95, pictures.DEFAULT_R_MAX, 0.05, key="image_r_max",
                           help="keep(l) = 1 − r_max · ((l+1)/L)^α of the previous layer's patches: the last "
                                "layer removes the share r_max.")
    alpha = sidebar.slider("α", 0.2, 4.0, pictures.DEFAULT_ALPHA, 0.1, key="image_alpha",
                           help="Above 1, early layers keep nearly every patch and late ones cut hard; below 1, "
                                "pruning starts early.")
    return pictures.build_vision_method(pictures.VisionSetting(kind, r_max, alpha, score), own)


def view_sidebar() -> str:
    """How the layers are shown: all at once in a grid, or one at a time with a slider."""
    st.sidebar.divider()
    return st.sidebar.radio("Show the layers as", list(VIEWS), format_func=VIEWS.get, key="image_view",
                            horizontal=True)


def picture_input() -> pictures.Picture | None:
    """A CIFAR-10 test picture or an upload; None (with a note on the page) when there is none to classify."""
    source = st.radio("Picture", list(SOURCES), format_func=SOURCES.get, key="image_source", horizontal=True,
                      label_visibility="collapsed")
    return _uploaded() if source == "upload" else _test_picture()


def share_note() -> str | None:
    """What a link to the view cannot carry: an uploaded picture."""
    if st.session_state.get("image_source") == "upload":
        return ("An uploaded picture cannot travel in a link: the link opens the same model and settings, with the "
                "upload box.")
    return None


def _uploaded() -> pictures.Picture | None:
    upload = st.file_uploader("A PNG, JPEG or WebP picture", type=UPLOAD_TYPES, key="upload_image",
                              max_upload_size=MAX_FILE_BYTES // 2**20)
    if upload is None:
        st.info("Upload a picture to see which of its patches each layer keeps. Any size works: the model "
                "reads a centred square, shrunk to its input size.")
        return None
    try:
        return pictures.picture_from_upload(upload.getvalue(), upload.name)
    except ImageError as error:
        st.error(f"**This file cannot be used.** {error}")
        return None


@st.cache_resource(show_spinner="Loading the CIFAR-10 test pictures…", max_entries=2)
def _test_pictures(folder: str, stamp: float) -> ImageDataset | str:
    """The test split, or why it is unavailable (kept too, so a missing split is not retried every rerun)."""
    try:
        return pictures.load_test_pictures(folder or None)
    except (DatasetUnavailableError, OSError, ValueError) as error:
        return str(error)


def _test_picture() -> pictures.Picture | None:
    dataset = _test_pictures(*pictures.data_version())
    if isinstance(dataset, str):
        st.info(f"CIFAR-10 test pictures are not available: {dataset}\n\n{pictures.TEST_DATA_HINT}")
        return None
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    state.within("image_index", 0, len(dataset) - 1)
    index = left.number_input(f"Test picture (0 to {len(dataset) - 1})", 0, len(dataset) - 1, step=1,
                              key="image_index")
    right.button("Random", key="do_random_picture", on_click=_pick_random, args=(len(dataset),), width="stretch")
    return pictures.picture_from_dataset(dataset, int(index))


def _pick_random(count: int) -> None:
    st.session_state["image_index"] = random.randrange(count)


def demo_section(shown: list[ModelEntry]) -> None:
    """With no ViT, offer to build the quick one; follow a build in progress."""
    ui.build_section(jobs.vision_demo_job(paths.artifacts_dir()), shown, ui.BuildTexts(
        title="Demo ViT", button="Build the demo ViT", key="do_build_vision_demo",
        pitch="Train the quick CIFAR-10 ViT (3 to 12 minutes on 2 CPU cores, depending on the CPU; a demo, "
              "about 34% accurate), unpruned and pruned, with `python -m pipelines.demo --datasets cifar10`. "
              "It runs in the background: every page keeps working meanwhile." + ui.downloads_note(jobs.VISION_DATASETS),
        unavailable="Train a ViT with the vision pipelines (see the README).", kind="vision"))
