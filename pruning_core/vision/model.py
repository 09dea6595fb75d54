"""A small ViT image classifier driven layer by layer under a pruning method.

Images are square RGB pictures at `source_size` (32 for CIFAR-10), resized to `image_size` and cut
into patch_size patches: 32 -> 48 with patch 4 gives a 12 x 12 grid, 144 patches + CLS = 145 tokens,
the vision study's shape. Everything about the picture lives in the transformers ViTConfig
(`source_size`, `image_mean`, `image_std` are extra fields), so a saved folder is self-describing.
"""
from __future__ import annotations

from typing import Sequence

import torch
from PIL import Image
from torch import Tensor
from transformers import ViTConfig, ViTForImageClassification

from ..classifier import ClassifierOutput, PrunedClassifier
from ..methods import PruningMethod
from ..trace import ExampleTrace
from .backbone import StemViT, vit_blocks, vit_embed, vit_feature, vit_head
from .images import images_to_pixels, normalize_pixels

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def vit_config(hidden_size: int = 128, num_layers: int = 8, num_heads: int = 2, intermediate_size: int = 768,
               source_size: int = 32, image_size: int = 48, patch_size: int = 4,
               label_names: Sequence[str] = CIFAR10_CLASSES, mean: Sequence[float] = CIFAR10_MEAN,
               std: Sequence[float] = CIFAR10_STD, dropout: float = 0.0, stem: str = "patch") -> ViTConfig:
    """A ViT for small square images, trained from scratch (no attention dropout: it would blur scores).

    stem: "patch" (ViT's linear patch embedding) or "conv" (a small convolutional stem, see backbone.py)."""
    if image_size % patch_size:
        raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}.")
    return ViTConfig(hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=num_heads,
                     intermediate_size=intermediate_size, image_size=image_size, patch_size=patch_size,
                     num_channels=3, hidden_dropout_prob=dropout, attention_probs_dropout_prob=0.0,
                     num_labels=len(label_names), id2label=dict(enumerate(label_names)),
                     label2id={name: i for i, name in enumerate(label_names)}, source_size=source_size, stem=stem,
                     image_mean=list(mean), image_std=list(std))


class PrunedVisionClassifier(PrunedClassifier):
    """A transformers ViTForImageClassification (`model`) plus a pruning method, run through our loop."""

    def __init__(self, model: ViTForImageClassification, method: PruningMethod | None = None):
        super().__init__(model, vit_blocks(model), method)

    @classmethod
    def from_config(cls, config: ViTConfig, method: PruningMethod | None = None, seed: int = 0
                    ) -> "PrunedVisionClassifier":
        """A freshly initialised (untrained) classifier."""
        torch.manual_seed(seed)
        return cls(StemViT(config).eval(), method)

    @property
    def grid(self) -> tuple[int, int]:
        """Patch rows and columns."""
        side = self.config.image_size // self.config.patch_size
        return side, side

    @property
    def num_tokens(self) -> int:
        rows, cols = self.grid
        return 1 + rows * cols

    @property
    def source_size(self) -> int:
        """Side of the square picture the model reads (pixels are resized from it to image_size)."""
        return int(getattr(self.config, "source_size", self.config.image_size))

    def pixel_values(self, images: Sequence[Image.Image] | Tensor, size: int | None = None) -> Tensor:
        """PIL images (any size) or uint8 pixels (B, 3, S, S) -> normalised model input on the model's device,
        size x size (default the config's image_size)."""
        pixels = images if isinstance(images, Tensor) else images_to_pixels(checked_images(images), self.source_size)
        return normalize_pixels(pixels.to(self.device), size or self.config.image_size, self.config.image_mean,
                                self.config.image_std)

    def head(self, hidden: Tensor) -> Tensor:
        return vit_head(self.model, hidden)

    def feature(self, output: ClassifierOutput) -> Tensor:
        """(B, D) the final normed CLS row of a forward pass, which the head turns into logits."""
        return vit_feature(self.model, output.loop.hidden)

    def forward(self, pixel_values: Tensor, labels: Tensor | None = None, record: bool = False) -> ClassifierOutput:
        hidden = vit_embed(self.model, pixel_values)
        alive = torch.ones(hidden.shape[:2], dtype=torch.bool, device=hidden.device)
        return self.classify(hidden, alive, labels, record)

    @torch.inference_mode()
    def predict(self, images: Sequence[Image.Image] | Tensor, batch_size: int = 256) -> Tensor:
        """Predicted class per image, (B,) on the CPU."""
        images = images if isinstance(images, Tensor) else checked_images(images)
        self.eval()
        predictions = [self(self.pixel_values(images[start:start + batch_size])).logits.argmax(-1).cpu()
                       for start in range(0, len(images), batch_size)]
        return torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long)

    @torch.inference_mode()
    def trace(self, images: Sequence[Image.Image] | Tensor, labels: Sequence[int] | None = None,
              batch_size: int = 64, names: Sequence[str] | None = None) -> list[ExampleTrace]:
        """Classify images and record, per image and layer, which patches survived and their scores.

        Tokens are "[CLS]", "p0" .. "p143" (row-major over the patch grid); `text` holds the image's
        name when given."""
        images = images if isinstance(images, Tensor) else checked_images(images)
        self.eval()
        tokens = ["[CLS]"] + [f"p{i}" for i in range(self.num_tokens - 1)]
        traces = []
        for start in range(0, len(images), batch_size):
            output = self(self.pixel_values(images[start:start + batch_size]), record=True)
            numbers = range(start, start + len(output.logits))
            fields = [{"tokens": tokens, "text": "" if names is None else str(names[number]),
                       "label": None if labels is None else int(labels[number]), "grid": self.grid}
                      for number in numbers]
            traces += self.example_traces(output, [self.num_tokens] * len(numbers), fields)
        return traces


def checked_images(images: object) -> list[Image.Image]:
    """images as a list of PIL images; a ValueError naming the first thing that is not one (a path, a string, None)."""
    if isinstance(images, Image.Image):
        return [images]
    if images is None or isinstance(images, (str, bytes)) or not hasattr(images, "__iter__"):
        raise ValueError(f"images must be a list of PIL images or a uint8 tensor (B, 3, S, S), got "
                         f"{type(images).__name__} {images!r:.40}.")
    images = list(images)
    for number, image in enumerate(images):
        if not isinstance(image, Image.Image):
            raise ValueError(f"Image #{number} is {type(image).__name__} {image!r:.40}, not a PIL image (open files with "
                             f"pruning_core.vision.read_image).")
    return images
