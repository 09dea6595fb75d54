"""The Image page's widgets: the ViT picker, the pruning controls, the picture source and the demo-ViT builder.

Models, methods, pictures and their rendering live in pruning_core.vision.lens; this module only wires widgets.
"""
from __future__ import annotations

import random

import streamlit as st

import lens_app
from pruning_core import catalog, jobs
from pruning_core.live import describe_method
from pruning_core.methods import PruningMethod
from pruning_core.text import ModelLoadError
from pruning_core.vision import DatasetUnavailableError, ImageDataset, ImageError, PrunedVisionClassifier
from pruning_core.vision import lens
from pruning_core.vision.images import MAX_FILE_BYTES

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
SOURCES = {"cifar10": "CIFAR-10 test picture", "upload": "Upload a picture"}
VIEWS = {"grid": "Grid of layers", "slider": "Slider"}


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_model(key: str, folder: str, stamp: float, _entry: lens.VisionModel) -> PrunedVisionClassifier:
    """Loaded once per model folder and version, shared by every session."""
    classifier = lens.load_vision_model(_entry)
    lens.warm_up(classifier)
    return classifier


def model_sidebar(entries: list[lens.VisionModel]) -> tuple[lens.VisionModel, PrunedVisionClassifier]:
    """ViT picker; stops the page with a clear message when the chosen model cannot be loaded."""
    by_key = {entry.key: entry for entry in entries}
    if st.session_state.get("image_model") not in by_key:
        st.session_state["image_model"] = lens.default_vision_model(entries).key
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
    kind = sidebar.radio("Pruning", lens.available_kinds(own), format_func=lens.METHOD_KINDS.get, key="image_kind")
    if kind == "own":
        sidebar.caption(describe_method(own))
    if not lens.supports_scoring(kind):
        return lens.build_vision_method(lens.VisionSetting(kind=kind), own)
    score = sidebar.radio("Rank patches by", list(lens.SCORES), format_func=lens.SCORES.get, key="image_score",
                          help="CLS attention: how much the CLS token attends to a patch (the vision study's "
                               "choice). Mean attention received: what every token gives it, averaged (LTP's).")
    r_max = sidebar.slider("r_max", 0.0, 0.95, lens.DEFAULT_R_MAX, 0.05, key="image_r_max",
                           help="keep(l) = 1 − r_max · ((l+1)/L)^α of the previous layer's patches: the last "
                                "layer removes the share r_max.")
    alpha = sidebar.slider("α", 0.2, 4.0, lens.DEFAULT_ALPHA, 0.1, key="image_alpha",
                           help="Above 1, early layers keep nearly every patch and late ones cut hard; below 1, "
                                "pruning starts early.")
    return lens.build_vision_method(lens.VisionSetting(kind, r_max, alpha, score), own)


def view_sidebar() -> str:
    """How the layers are shown: all at once in a grid, or one at a time with a slider."""
    st.sidebar.divider()
    return st.sidebar.radio("Show the layers as", list(VIEWS), format_func=VIEWS.get, key="image_view",
                            horizontal=True)


def picture_input() -> lens.Picture | None:
    """A CIFAR-10 test picture or an upload; None (with a note on the page) when there is none to classify."""
    source = st.radio("Picture", list(SOURCES), format_func=SOURCES.get, key="image_source", horizontal=True,
                      label_visibility="collapsed")
    return _uploaded() if source == "upload" else _test_picture()


def _uploaded() -> lens.Picture | None:
    upload = st.file_uploader("A PNG, JPEG or WebP picture", type=UPLOAD_TYPES, key="image_upload",
                              max_upload_size=MAX_FILE_BYTES // 2**20)
    if upload is None:
        st.info("Upload a picture to see which of its patches each layer keeps. Any size works: the model "
                "reads a centred square, shrunk to its input size.")
        return None
    try:
        return lens.picture_from_upload(upload.getvalue(), upload.name)
    except ImageError as error:
        st.error(f"**This file cannot be used.** {error}")
        return None


@st.cache_resource(show_spinner="Loading the CIFAR-10 test pictures…", max_entries=2)
def _test_pictures(folder: str, stamp: float) -> ImageDataset | str:
    """The test split, or why it is unavailable (kept too, so a missing split is not retried every rerun)."""
    try:
        return lens.load_test_pictures(folder or None)
    except (DatasetUnavailableError, OSError, ValueError) as error:
        return str(error)


def _test_picture() -> lens.Picture | None:
    pictures = _test_pictures(*lens.data_version())
    if isinstance(pictures, str):
        st.info(f"CIFAR-10 test pictures are not available: {pictures}\n\n{lens.TEST_DATA_HINT}")
        return None
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    index = left.number_input(f"Test picture (0 to {len(pictures) - 1})", 0, len(pictures) - 1, step=1,
                              key="image_index")
    right.button("Random", key="image_random", on_click=_pick_random, args=(len(pictures),), width="stretch")
    return lens.picture_from_dataset(pictures, int(index))


def _pick_random(count: int) -> None:
    st.session_state["image_index"] = random.randrange(count)


def demo_section(no_models: bool) -> None:
    """With no ViT, offer to build the quick one; follow a build in progress."""
    lens_app.build_section(jobs.vision_demo_job(catalog.artifacts_root()), no_models, lens_app.BuildTexts(
        title="Demo ViT", button="Build the demo ViT", key="build_vision_demo",
        pitch="Train the quick CIFAR-10 ViT (3 to 12 minutes on 2 CPU cores, depending on the CPU; a demo, "
              "about 34% accurate), unpruned and pruned, with `python -m pipelines.demo --datasets cifar10`. "
              "It runs in the background: every page keeps working meanwhile.",
        unavailable="Train a ViT with the vision pipelines (see the README)."))
