"""The Image page's widgets: the ViT picker, the picture source and the demo-ViT builder (the pruning controls are
dashboard.controls's, in the IMAGE scope).

Models, methods, pictures and their rendering live in dashboard.pictures; this module only wires widgets.
"""
from __future__ import annotations

import random

import streamlit as st

from pruning_core import paths
from pruning_core.vision import DatasetUnavailableError, ImageDataset, ImageError, PrunedVisionClassifier
from pruning_core.vision.images import MAX_FILE_BYTES

from . import catalog, controls, jobs, pictures, state, stored_inputs, ui
from .catalog import ModelEntry

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
SOURCES = {"cifar10": "CIFAR-10 test picture", "upload": "Upload a picture"}
VIEWS = {"grid": "Grid of layers", "slider": "Slider"}

UPLOAD_ID = "image_upload_id"   # the id an uploaded picture is kept under on the server (stored_inputs.PICTURES)

# The Image view's settings in its URL (/Image?picture=12&kind=topk&r_max=0.6...); an uploaded picture travels as
# the id it is kept under on this server.
IMAGE_URL = (
    state.UrlParam("model", "image_model"),
    *controls.url_params(controls.IMAGE),          # method, adjust, score, r_max, alpha
    state.UrlParam("view", "image_view", choices=tuple(VIEWS)),
    state.UrlParam("source", "image_source", choices=tuple(SOURCES)),
    state.UrlParam("picture", "image_index", int, low=0),
    state.UrlParam("upload", UPLOAD_ID, check=stored_inputs.PICTURES.check),
)


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_model(key: str, folder: str, stamp: float, _entry: ModelEntry) -> PrunedVisionClassifier:
    """Loaded once per model folder and version, shared by every session."""
    classifier = catalog.load_model(_entry)
    pictures.warm_up(classifier)
    return classifier


def model_sidebar(entries: list[ModelEntry]) -> tuple[ModelEntry, PrunedVisionClassifier]:
    """ViT picker (ui.pick_model, as for text)."""
    return ui.pick_model(entries, "image_model", catalog.default_model(entries),
                         lambda entry: _cached_model(entry.key, str(entry.path), entry.stamp, entry),
                         "Vision Transformers saved under artifacts/models.")


def view_sidebar() -> str:
    """How the layers are shown: all at once in a grid, or one at a time with a slider."""
    st.sidebar.divider()
    return st.sidebar.radio("Show the layers as", list(VIEWS), format_func=VIEWS.get, key="image_view",
                            horizontal=True)


def picture_input() -> pictures.Picture | None:
    """A CIFAR-10 test picture or an upload; None (with a note on the page) when there is none to classify."""
    source = st.radio("Picture", list(SOURCES), format_func=SOURCES.get, key="image_source", horizontal=True,
                      label_visibility="collapsed")
    if source != "upload":
        st.session_state.pop(UPLOAD_ID, None)      # a link to a test picture carries no upload
        return _test_picture()
    return _uploaded()


def share_note() -> str | None:
    """What a link to the view cannot carry: an uploaded picture this server could not keep."""
    if st.session_state.get("image_source") == "upload" and UPLOAD_ID not in st.session_state:
        return ("This picture could not be kept on the server, so the link opens the same model and settings with "
                "the upload box.")
    return None


def _uploaded() -> pictures.Picture | None:
    """The picture uploaded now, else the one a link names (kept on the server); kept for links in turn."""
    upload = st.file_uploader("A PNG, JPEG or WebP picture", type=UPLOAD_TYPES, key="upload_image",
                              max_upload_size=MAX_FILE_BYTES // 2**20, on_change=st.session_state.pop,
                              args=(UPLOAD_ID, None))
    if upload is not None:
        data, name = upload.getvalue(), upload.name
    elif UPLOAD_ID in st.session_state:
        try:
            data, name = stored_inputs.PICTURES.load(st.session_state[UPLOAD_ID]), "the picture in the link"
        except ValueError as error:        # removed from the server since the link was made
            st.warning(f"The link's picture {error}: upload it again.")
            del st.session_state[UPLOAD_ID]
            return None
    else:
        st.info("Upload a picture to see which of its patches each layer keeps. Any size works: the model "
                "reads a centred square, shrunk to its input size.")
        return None
    try:
        picture = pictures.picture_from_upload(data, name)
    except ImageError as error:
        st.error(f"**This file cannot be used.** {error}")
        st.session_state.pop(UPLOAD_ID, None)
        return None
    if upload is not None:
        try:
            st.session_state[UPLOAD_ID] = stored_inputs.PICTURES.save(data)
        except (OSError, ValueError):      # a full or read-only disk: the view works, its link has no picture
            st.session_state.pop(UPLOAD_ID, None)
    return picture


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
