"""What the Image page calls: one picture classified and drawn layer by layer (dropped patches greyed out), and
CIFAR-10 test pictures to pick from (its method comes from dashboard.controls). The saved ViTs come from the catalog
(`catalog.discover_models(kind="vision")`).

The chosen method never touches the loaded (shared) classifier: each request wraps the same weights
in a new `PrunedVisionClassifier`, as Live text does for text models.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pruning_core import paths
from pruning_core.methods import PruningMethod
from pruning_core.trace import ExampleTrace
from pruning_core.vision.data import ImageDataset, load_cifar10
from pruning_core.vision.images import read_image, square_image
from pruning_core.vision.model import PrunedVisionClassifier

from .figures.render import enlarge, grey_out, paint_groups

DISPLAY_SIZE = 192             # pixels a layer picture is shown at (rounded to a whole number per patch)
TEST_DATA_HINT = ("To pick CIFAR-10 test pictures, put `cifar10/test.parquet` (columns `jpeg` and `label`) in the "
                  "data directory (`$LENS_DATA_DIR`, or `../shared/datasets` beside the repository), or go online "
                  "so it can be fetched from the Hugging Face hub. Uploading a picture works without it.")


@dataclass(frozen=True)
class Picture:
    """A picture to classify, and what is known about it."""

    image: Image.Image           # RGB, any size
    name: str                    # a file name or "CIFAR-10 test #12"; user text, so escape it where rendered
    true_label: str | None = None


@dataclass
class PictureResult:
    trace: ExampleTrace
    model_ms: float                    # preprocessing, the pruned layer loop and the trace, measured
    layer_images: list[Image.Image]    # the model's view enlarged: the input, then one per layer, greyed
    captions: list[str]                # "input · 145 tokens", then "layer 3 · 81/145"


# --- models --------------------------------------------------------------------------------------------------

def warm_up(classifier: PrunedVisionClassifier) -> None:
    """One throwaway run, so the first timed request does not pay for one-off initialisation."""
    size = classifier.source_size
    classifier.trace([Image.new("RGB", (size, size), (128, 128, 128))])


# --- pictures ------------------------------------------------------------------------------------------------

def picture_from_upload(data: bytes, name: str) -> Picture:
    """An uploaded file -> a Picture; ImageError (with a message fit to show) when it is no usable image."""
    return Picture(read_image(data), name)


def picture_from_dataset(dataset: ImageDataset, index: int) -> Picture:
    """Test picture `index` with its true label; IndexError outside the dataset."""
    if not 0 <= index < len(dataset):
        raise IndexError(f"Picture {index} is outside 0..{len(dataset) - 1}.")
    label = dataset.class_names[int(dataset.labels[index])]
    return Picture(dataset.image(index), f"CIFAR-10 test #{index}", label)


def load_test_pictures(data_dir: str | Path | None = None) -> ImageDataset:
    """CIFAR-10's test split (DatasetUnavailableError when neither the data directory nor the hub has it)."""
    return load_cifar10("test", data_dir)


def data_version(data_dir: str | Path | None = None) -> tuple[str, float]:
    """The test file's path and modification time (0 when missing), to cache the split per version."""
    folder = paths.data_dir(data_dir)
    if folder is None:
        return "", 0.0
    path = folder / "cifar10" / "test.parquet"
    return str(folder), path.stat().st_mtime if path.is_file() else 0.0


def display_size(grid_side: int, target: int = DISPLAY_SIZE) -> int:
    """A side near `target` that is a whole number of pixels per patch, so greyed cells have crisp edges."""
    return grid_side * max(1, round(target / grid_side))


def classify_picture(classifier: PrunedVisionClassifier, method: PruningMethod, image: Image.Image,
                     target_size: int = DISPLAY_SIZE) -> PictureResult:
    """Trace one picture under method, and draw the model's view once per layer with dropped patches greyed."""
    view = PrunedVisionClassifier(classifier.model, method)
    seen = square_image(image, classifier.source_size)     # exactly what the model reads
    start = time.perf_counter()
    trace = view.trace([seen])[0]
    model_ms = 1000 * (time.perf_counter() - start)
    images, captions = layer_pictures(seen, trace, display_size(trace.grid[0], target_size))
    return PictureResult(trace, model_ms, images, captions)


def layer_pictures(seen: Image.Image, trace: ExampleTrace, size: int) -> tuple[list[Image.Image], list[str]]:
    """The picture enlarged, then once per layer with the patches gone after that layer greyed out (or, for a merging
    method, painted in their group's mean colour)."""
    shown = enlarge(seen, size)
    total = len(trace.tokens)
    if trace.merged_into is None:
        images = [shown, *[grey_out(shown, trace.patch_mask(layer)) for layer in range(trace.num_layers)]]
    else:   # merged patches live on in their group: paint each group its mean colour
        images = [shown, *[paint_groups(shown, (trace.groups(layer)[1:] - 1).reshape(trace.grid))
                           for layer in range(trace.num_layers)]]
    captions = [f"input · {total} tokens",
                *[f"layer {layer + 1} · {count}/{total}" for layer, count in enumerate(trace.keep_counts)]]
    return images, captions


def top_classes(trace: ExampleTrace, k: int = 3) -> list[tuple[str, float]]:
    """The k most probable classes, most probable first."""
    ranked = sorted(zip(trace.label_names, trace.probabilities), key=lambda pair: -pair[1])
    return [(name, float(probability)) for name, probability in ranked[:k]]


# --- helpers -------------------------------------------------------------------------------------------------
