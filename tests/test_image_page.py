"""The Image page and what it calls (pruning_core.vision.lens, the patch-count chart, the demo-ViT job):
a tiny ViT (hidden 32, 4 layers, 145 tokens) in a temporary artifacts folder, a six-picture CIFAR-10 test split."""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from lens_helpers import open_page, save_tiny_model
from dashboard import catalog, controls, figures, jobs
from pruning_core.methods import NoPruning, TokenMerging, TopK, control_values, schedule_counts
from pruning_core.classifier import ModelLoadError
from pruning_core.vision import CIFAR10_CLASSES, DatasetUnavailableError, ImageError, ImageTooLargeError, \
    save_vision_classifier
from pruning_core.vision import data as vision_data
from dashboard import pictures
from test_vision_images import png_claiming_size
from vision_helpers import encode, make_vit

IMAGE = "views/7_Image.py"
LAYERS, TOKENS = 4, 145
OWN = TopK(r_max=0.9, alpha=1.0)            # the saved "pruned" model's schedule, unlike the sliders' default
TEST_LABELS = [3, 8, 0, 6, 1, 9]
TOPK = control_values("topk")               # the sliders start at top-k's declared defaults
DEFAULT_R_MAX, DEFAULT_ALPHA = TOPK["r_max"], TOPK["alpha"]


def save_tiny_vit(artifacts: Path, name: str = "cifar10-quick/pruned", method=OWN, accuracy: float = 0.3) -> Path:
    folder = save_vision_classifier(make_vit(num_layers=LAYERS, method=method), artifacts / "models" / name)
    stage = name.rsplit("/", 1)[-1]
    (folder / "metrics.json").write_text(json.dumps({"dataset": "cifar10", "profile": "quick", "stage": stage,
                                                     "accuracy": accuracy, "r_max": 0.9, "train_alpha": 1.0}))
    return folder


def noise(size: tuple[int, int] = (32, 32), seed: int = 0, mode: str = "RGB") -> Image.Image:
    channels = {"RGB": 3, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels, mode)


@pytest.fixture
def cifar(tmp_path, monkeypatch) -> Path:
    """A CIFAR-10 test split of six noise pictures, as data.py reads it: <dir>/cifar10/test.parquet."""
    folder = tmp_path / "data"
    (folder / "cifar10").mkdir(parents=True)
    frame = pd.DataFrame({"jpeg": [encode(noise(seed=i), "JPEG") for i in range(len(TEST_LABELS))],
                          "label": TEST_LABELS})
    frame.to_parquet(folder / "cifar10" / "test.parquet")
    monkeypatch.setenv("LENS_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def no_cifar(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "empty"))

    def offline(split, local_path):
        raise DatasetUnavailableError(f"CIFAR-10 {split!r} is unavailable (offline in tests).")
    monkeypatch.setattr(vision_data, "_from_hub", offline)


def run_page(**query: str) -> AppTest:
    """The Image page, opened from a link carrying `query` when given."""
    return open_page(IMAGE, **query)


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def layer_captions(counts: list[int]) -> list[str]:
    return [f"input · {TOKENS} tokens", *[f"layer {i + 1} · {c}/{TOKENS}" for i, c in enumerate(counts)]]


def upload(app: AppTest, name: str, data: bytes) -> AppTest:
    app.radio(key="image_source").set_value("upload").run()
    app.file_uploader(key="upload_image").set_value((name, data, "application/octet-stream")).run()
    assert not app.exception, app.exception
    return app


# --- the page -------------------------------------------------------------------------------------------

def test_a_test_picture_gets_a_prediction_and_one_greyed_picture_per_layer(artifacts, cifar):
    save_tiny_vit(artifacts)
    app = run_page()
    shown = metrics(app)
    assert shown["Prediction"] in [f"class{i}" for i in range(3)]
    assert shown["Model time"].endswith(" ms")
    default = schedule_counts(TOKENS, LAYERS, DEFAULT_R_MAX, DEFAULT_ALPHA)
    assert shown["Tokens read"] == f"{TOKENS} → {default[-2]}"        # alive on entry to the last layer
    assert app.image[0].captions == layer_captions(default)          # the input, then each of the 4 layers
    assert f"True label: **{CIFAR10_CLASSES[TEST_LABELS[0]]}**" in [caption.value for caption in app.caption]
    assert len(app.dataframe[0].value) == 3                           # the top classes
    chart = app.get("plotly_chart")[0].proto.spec
    assert '"schedule"' in chart and "Tokens kept after each layer" in chart
    app.number_input(key="image_index").set_value(1).run()
    assert f"True label: **{CIFAR10_CLASSES[TEST_LABELS[1]]}**" in [caption.value for caption in app.caption]


def test_the_sliders_and_the_method_change_the_kept_counts_at_once(artifacts, cifar):
    save_tiny_vit(artifacts)
    app = run_page()
    before = app.image[0].captions
    app.slider(key="image_topk_alpha").set_value(3.0).run()
    after = app.image[0].captions
    assert after != before and after == layer_captions(schedule_counts(TOKENS, LAYERS, DEFAULT_R_MAX, 3.0))
    app.slider(key="image_topk_r_max").set_value(0.0).run()
    assert app.image[0].captions == layer_captions([TOKENS] * LAYERS)
    app.radio(key="image_kind").set_value("own").run()                # the saved r_max 0.9, alpha 1
    assert app.image[0].captions == layer_captions(schedule_counts(TOKENS, LAYERS, 0.9, 1.0))
    assert not app.slider                                             # the schedule is the model's: no sliders
    app.radio(key="image_kind").set_value("merge").run()              # merging: the same counts, while a layer can
    assert app.image[0].captions == layer_captions(TokenMerging().expected_counts(TOKENS, LAYERS))
    app.radio(key="image_kind").set_value("none").run()
    assert metrics(app)["Tokens read"] == f"{TOKENS} → {TOKENS}"


def test_the_slider_view_shows_one_layer_at_a_time(artifacts, cifar):
    save_tiny_vit(artifacts)
    app = run_page()
    app.radio(key="image_view").set_value("slider").run()
    last = schedule_counts(TOKENS, LAYERS, DEFAULT_R_MAX, DEFAULT_ALPHA)[-1]
    assert app.image[0].captions == [f"layer {LAYERS} · {last}/{TOKENS}"]
    app.select_slider(key="image_layer").set_value(0).run()
    assert app.image[0].captions == [f"input · {TOKENS} tokens"]


UPLOADS = {
    "photo.jpg": encode(noise((300, 200), seed=1), "JPEG"),
    "gray.png": encode(Image.new("L", (40, 40), 90)),
    "alpha.png": encode(noise((40, 40), seed=2, mode="RGBA")),
    "palette.png": encode(noise((40, 40), seed=3).convert("P")),
    "animated.webp": encode(Image.new("RGB", (40, 40), (250, 0, 0)), "WEBP", save_all=True, lossless=True,
                            append_images=[Image.new("RGB", (40, 40), (0, 0, 250))], duration=100),
}


@pytest.mark.parametrize("name", UPLOADS)
def test_uploaded_pictures_of_any_mode_are_classified(artifacts, no_cifar, name):
    save_tiny_vit(artifacts)
    app = run_page()
    assert "not available" in app.info[0].value and "cifar10/test.parquet" in app.info[0].value
    upload(app, name, UPLOADS[name])
    assert not app.error and metrics(app)["Prediction"].startswith("class")
    assert len(app.image[0].captions) == LAYERS + 1
    assert [text.value for text in app.text] == [f"File: {name}"]      # the file name, as plain text


BAD_UPLOADS = {
    "truncated.png": (encode(noise((64, 64)))[:300], "truncated or corrupt"),
    "notes.png": (b"just some notes, not a picture\n" * 10, "not an image"),
    "huge.png": (png_claiming_size(20_000, 20_000), "megapixels are accepted"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_uploads_give_a_clear_error_and_no_result(artifacts, no_cifar, name):
    save_tiny_vit(artifacts)
    data, message = BAD_UPLOADS[name]
    app = upload(run_page(), name, data)
    assert len(app.error) == 1 and message in app.error[0].value
    assert not app.metric and not app.image


def test_without_a_vit_the_page_offers_to_build_one_and_follows_the_build(artifacts, cifar, tmp_path, monkeypatch):
    save_tiny_model(artifacts)                                        # a text model is no ViT
    prepared = save_tiny_vit(tmp_path / "prepared")
    fake = (f"import json, pathlib, shutil, sys, time\n"
            f"progress = pathlib.Path(sys.argv[1])\n"
            f"progress.write_text(json.dumps({{'fraction': 0.4, 'message': 'Training the ViT', 'done': False}}))\n"
            f"while not (progress.parent / 'release').exists(): time.sleep(0.05)\n"
            f"shutil.copytree({str(prepared)!r}, progress.parent.parent / 'models' / 'cifar10-quick' / 'pruned')\n"
            f"progress.write_text(json.dumps({{'fraction': 1.0, 'message': 'Finished', 'done': True}}))\n")
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: True)
    monkeypatch.setattr(jobs, "demo_command", lambda progress, datasets: [sys.executable, "-c", fake, str(progress)])
    job = jobs.vision_demo_job(artifacts)
    try:
        app = run_page()
        assert "No trained Vision Transformer yet" in app.info[0].value and not app.metric
        app.button(key="do_build_vision_demo").click().run()
        deadline = time.monotonic() + 30
        while job.progress().message != "Training the ViT":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app.run()
        assert app.get("progress")[0].proto.value == 40 and not app.button
        (job.folder / "release").touch()
        while job.running():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app.run()
        assert not app.exception and not app.info and metrics(app)["Prediction"].startswith("class")
    finally:
        job.stop()


def test_without_a_vit_or_a_demo_builder_the_page_says_how_to_get_one(artifacts, monkeypatch):
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: False)
    app = run_page()
    assert "Demo builder not available" in app.info[1].value and not app.button and not app.metric


def test_a_vit_that_cannot_be_loaded_is_a_clear_error(artifacts, cifar):
    folder = save_tiny_vit(artifacts)
    (folder / "model.safetensors").write_bytes(b"not weights")
    app = run_page()
    assert "cannot be loaded" in app.error[0].value and not app.metric


# --- pruning_core.vision.lens -----------------------------------------------------------------------------

def test_discovery_finds_only_vits_labels_them_and_prefers_the_pruned_one(artifacts):
    save_tiny_vit(artifacts, "cifar10-quick/unpruned", method=None, accuracy=0.31)
    save_tiny_vit(artifacts, "cifar10-quick/pruned", accuracy=0.29)
    save_tiny_model(artifacts, "imdb-quick/ltp_hard")
    (artifacts / "models" / "broken").mkdir()
    (artifacts / "models" / "broken" / "config.json").write_text("{not json")
    found = catalog.discover_models(kind="vision")
    assert [entry.key for entry in found] == ["cifar10-quick/pruned", "cifar10-quick/unpruned"]
    assert found[0].label == "cifar10-quick/pruned · topk · cifar10 · accuracy 0.290"
    assert found[0].stage == "pruned" and found[0].prunes and not found[1].prunes
    assert catalog.default_model(found).key == "cifar10-quick/pruned"
    assert catalog.discover_models(artifacts / "nowhere", kind="vision") == []
    assert [entry.key for entry in catalog.discover_models()] == ["imdb-quick/ltp_hard", catalog.PACKAGED_KEY]


def test_a_model_loads_with_its_own_method_and_a_vanished_folder_says_so(artifacts):
    folder = save_tiny_vit(artifacts)
    entry = catalog.discover_models(kind="vision")[0]
    assert isinstance(catalog.load_model(entry).method, TopK)
    shutil.rmtree(folder)
    with pytest.raises(ModelLoadError, match="gone"):
        catalog.load_model(entry)


def test_methods_from_the_controls():
    own = TopK(r_max=0.9, alpha=1.0)
    assert controls.available_kinds(controls.IMAGE, own) == ["topk", "merge", "own", "none"]
    assert controls.available_kinds(controls.IMAGE, NoPruning()) == ["topk", "merge", "none"]
    assert controls.default_kind(controls.IMAGE, own) == "topk"
    assert [c.name for c in controls.declared(controls.IMAGE, "topk")] == ["score", "r_max", "alpha"]   # cascade only
    values = {"schedule": "cascade", "r_max": 0.5, "alpha": 2.0, "score": "received"}
    built = controls.build("topk", values, own, LAYERS)
    assert (built.r_max, built.alpha, built.score) == (0.5, 2.0, "received")
    assert controls.build("own", {}, own, LAYERS) is own
    assert isinstance(controls.build("none", {}, own, LAYERS), NoPruning)
    method_param = next(param for param in controls.url_params(controls.IMAGE) if param.name == "method")
    with pytest.raises(ValueError):
        method_param.parse("ltp")                                      # not offered for pictures


@pytest.mark.parametrize("method", [TopK(r_max=0.6, alpha=2.0), TopK(r_max=0.8, alpha=0.5, score="received"),
                                    TopK(keep_ratios=[1.0, 0.5, 0.5, 0.2]), NoPruning()],
                         ids=["cls", "received", "ratios", "none"])
def test_the_expected_counts_are_what_the_model_keeps(method):
    classifier = make_vit(num_layers=LAYERS)
    result = pictures.classify_picture(classifier, method, noise(seed=5))
    assert result.trace.keep_counts == method.expected_counts(TOKENS, LAYERS)
    assert isinstance(classifier.method, NoPruning), "the shared classifier's method is left alone"


def test_the_study_schedule_counts():
    assert TopK(r_max=0.6, alpha=2.0).expected_counts(145, 8) == [143, 137, 125, 106, 81, 54, 29, 12]


def test_layer_pictures_grey_exactly_the_dropped_patches():
    picture = noise(seed=7)
    result = pictures.classify_picture(make_vit(num_layers=LAYERS), TopK(r_max=0.9, alpha=1.0), picture)
    images = [np.asarray(image) for image in result.layer_images]
    assert len(images) == LAYERS + 1 and all(image.shape == (192, 192, 3) for image in images)
    assert np.array_equal(images[0], np.asarray(picture.resize((192, 192), Image.Resampling.NEAREST)))
    for layer in range(LAYERS):
        mask = result.trace.patch_mask(layer)                         # (12, 12): 16 x 16 pixels per patch
        same = (images[layer + 1] == images[0]).reshape(12, 16, 12, 16, 3).all(axis=(1, 3, 4))
        assert np.array_equal(same, mask)
    assert result.captions[2] == f"layer 2 · {result.trace.keep_counts[1]}/{TOKENS}"


def test_merged_patches_are_painted_their_groups_mean_colour():
    picture = noise(seed=5)
    result = pictures.classify_picture(make_vit(num_layers=LAYERS), TokenMerging(r_max=0.6, alpha=1.0), picture)
    first = np.asarray(result.layer_images[0], dtype=np.float64).reshape(12, 16, 12, 16, 3)
    for layer in range(LAYERS):
        holders = result.trace.groups(layer)[1:] - 1                   # (144,) the patch holding each patch
        cells = np.asarray(result.layer_images[layer + 1], dtype=np.float64).reshape(12, 16, 12, 16, 3)
        cells = cells.transpose(0, 2, 1, 3, 4).reshape(144, 16 * 16, 3)
        patches = first.transpose(0, 2, 1, 3, 4).reshape(144, 16 * 16, 3)
        for holder in np.unique(holders):
            members = np.flatnonzero(holders == holder)
            expected = patches[members] if len(members) == 1 else patches[members].reshape(-1, 3).mean(axis=0)
            np.testing.assert_allclose(cells[members], np.broadcast_to(expected, cells[members].shape), atol=0.51)
        assert len(np.unique(holders)) == result.trace.keep_counts[layer] - 1, "one colour per surviving patch row"
    assert result.captions[-1] == f"layer {LAYERS} · {result.trace.keep_counts[-1]}/{TOKENS}"


def test_cls_and_received_scoring_keep_different_patches():
    classifier, picture = make_vit(num_layers=LAYERS), noise(seed=3)
    by_cls = pictures.classify_picture(classifier, TopK(r_max=0.8, alpha=1.0), picture).trace
    by_received = pictures.classify_picture(classifier, TopK(r_max=0.8, alpha=1.0, score="received"), picture).trace
    assert by_cls.keep_counts == by_received.keep_counts
    assert not np.array_equal(by_cls.kept, by_received.kept)


def test_top_classes_and_display_size():
    trace = pictures.classify_picture(make_vit(num_layers=2, num_labels=5), NoPruning(), noise()).trace
    top = pictures.top_classes(trace, k=3)
    assert len(top) == 3 and top[0] == (trace.predicted_name, pytest.approx(trace.probability))
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert pictures.display_size(12) == 192 and pictures.display_size(14) == 196 and pictures.display_size(400) == 400


def test_test_pictures_come_with_their_true_label(cifar):
    dataset = pictures.load_test_pictures()
    picture = pictures.picture_from_dataset(dataset, 1)
    assert picture.true_label == CIFAR10_CLASSES[TEST_LABELS[1]] and picture.image.size == (32, 32)
    with pytest.raises(IndexError):
        pictures.picture_from_dataset(dataset, len(TEST_LABELS))
    folder, stamp = pictures.data_version()
    assert folder == str(cifar) and stamp > 0
    assert pictures.data_version(cifar.parent / "elsewhere")[1] == 0.0


@pytest.mark.parametrize("data, error, message", [
    (encode(noise((64, 64)), "JPEG")[:200], ImageError, "truncated or corrupt"),
    ("a plain text file\n".encode() * 20, ImageError, "not an image"),
    (png_claiming_size(20_000, 20_000), ImageTooLargeError, "megapixels are accepted"),
], ids=["corrupt", "text", "20000x20000"])
def test_bad_uploads_are_clear_errors(data, error, message):
    with pytest.raises(error, match=message):
        pictures.picture_from_upload(data, "upload.png")


def test_odd_modes_become_rgb_pictures():
    for data in (encode(Image.new("L", (9, 9), 5)), encode(noise((9, 9), mode="RGBA")), UPLOADS["animated.webp"]):
        assert pictures.picture_from_upload(data, "x").image.mode == "RGB"


# --- the chart and the job ----------------------------------------------------------------------------------

def test_the_patch_count_chart_shows_kept_counts_and_the_schedule():
    trace = pictures.classify_picture(make_vit(num_layers=LAYERS), TopK(r_max=0.6, alpha=2.0), noise()).trace
    expected = TopK(r_max=0.6, alpha=2.0).expected_counts(TOKENS, LAYERS)
    figure = figures.patch_count_figure(trace, expected)
    given, kept, schedule = figure.data
    assert (list(given.x), list(given.y)) == (["input"], [TOKENS])
    assert list(kept.y) == trace.keep_counts and list(kept.x) == ["1", "2", "3", "4"]
    assert list(schedule.y) == expected and list(schedule.x) == ["1", "2", "3", "4"]
    assert figure.layout.barmode == "overlay"
    assert [bars.name for bars in figures.patch_count_figure(trace).data] == ["input", "kept"]


def test_the_vision_demo_job_builds_cifar10_only(tmp_path):
    command = jobs.vision_demo_job(tmp_path).command(tmp_path / "p.json")
    assert command[-6:] == ["-m", "pipelines.demo", "--progress-file", str(tmp_path / "p.json"),
                            "--datasets", "cifar10"]
    job = jobs.vision_demo_job(tmp_path)
    assert job.progress_file == tmp_path / "jobs" / "vision_demo.progress.json"
    assert job.progress_file != jobs.demo_job(tmp_path).progress_file


def test_the_image_view_opens_from_a_link_with_its_picture_and_settings(artifacts, cifar):
    save_tiny_vit(artifacts)
    app = run_page(picture="4", method="topk", r_max="0.5", alpha="2", score="received", view="slider")
    assert app.number_input(key="image_index").value == 4
    assert f"True label: **{CIFAR10_CLASSES[TEST_LABELS[4]]}**" in [caption.value for caption in app.caption]
    assert app.slider(key="image_topk_r_max").value == 0.5 and app.radio(key="image_topk_score").value == "received"
    read = TopK(r_max=0.5, alpha=2.0).expected_counts(TOKENS, LAYERS)[-2]     # alive on entry to the last layer
    assert metrics(app)["Tokens read"] == f"{TOKENS} → {read}"
    assert len(app.image[0].captions) == 1                              # the slider view: one layer at a time
    app.number_input(key="image_index").set_value(2).run()
    assert app.query_params["picture"] == "2" and app.query_params["r_max"] == "0.5"   # the URL follows


def test_an_image_link_to_a_picture_that_is_not_there_falls_back_with_a_note(artifacts, cifar):
    save_tiny_vit(artifacts)
    app = run_page(picture="99", method="sideways")
    note = next(warning.value for warning in app.warning if "could not all be used" in warning.value)
    assert "`method=sideways`" in note and "`picture=99` does not fit here; using `0`" in note
    assert app.number_input(key="image_index").value == 0 and not app.exception
