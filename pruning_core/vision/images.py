"""Reading untrusted image files safely, and turning pictures into model input (Pillow + torch only).

`read_image` checks the header before decoding anything: a file that claims more than MAX_PIXELS is
refused without allocating its pixels. Grayscale, palette, 16-bit, CMYK and transparent images are
converted to RGB (transparency over white); animated images give their first frame; EXIF rotation is
applied. Every failure is an `ImageError` whose message says what was wrong.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torch.nn import functional as F

MAX_PIXELS = 40_000_000          # width x height; a 6000x6000 photo passes, 20000x20000 does not
MAX_FILE_BYTES = 50 * 1024 * 1024


class ImageError(ValueError):
    """The file is not a usable image; the message says why."""


class ImageTooLargeError(ImageError):
    """The image's header declares more pixels than MAX_PIXELS; it was not decoded."""


def read_image(source: bytes | str | Path | io.IOBase, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Bytes, a path or a binary file -> a decoded RGB image (first frame), or a clear ImageError."""
    data = _read_bytes(source)
    if not data:
        raise ImageError("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ImageTooLargeError(f"The file is {len(data) / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.")
    try:
        image = Image.open(io.BytesIO(data))              # reads the header only
    except Image.DecompressionBombError as error:
        # Pillow's own header check fired first (far beyond our limit); say it in our words.
        declared = re.search(r"\((\d+) pixels\)", str(error))
        size = f"declares {int(declared.group(1)) / 1e6:.0f} megapixels" if declared else "is too large"
        raise ImageTooLargeError(f"The image {size}; at most {max_pixels / 1e6:.0f} megapixels are accepted. "
                                 "Please upload a smaller version.") from None
    except UnidentifiedImageError:
        raise ImageError("This file is not an image Pillow can read (try PNG, JPEG or WebP).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"The image could not be read; it may be truncated or corrupt ({error}).") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLargeError(f"The image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); at "
                                 f"most {max_pixels / 1e6:.0f} megapixels are accepted. Please upload a smaller "
                                 "version.")
    if width == 0 or height == 0:
        raise ImageError("The image has no pixels.")
    try:
        image.seek(0)                                      # animated: the first frame
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"The {image.format or 'image'} file could not be decoded; it may be truncated or "
                         f"corrupt ({error}).") from None
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB. Transparent pixels become white; high bit depths are rescaled."""
    if image.mode == "RGB":
        return image
    if (image.mode == "P" and "transparency" in image.info) or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        image = Image.fromarray(scaled.round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def square_image(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to size x size (what the model sees, and what a page shows)."""
    return ImageOps.fit(to_rgb(image), (size, size), Image.Resampling.BICUBIC)


def images_to_pixels(images: Sequence[Image.Image], size: int) -> Tensor:
    """PIL images (any size and mode) -> uint8 (B, 3, size, size)."""
    arrays = [np.asarray(square_image(image, size), dtype=np.uint8) for image in images]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def normalize_pixels(pixels: Tensor, image_size: int, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """uint8 (B, 3, S, S) -> float (B, 3, image_size, image_size): scaled to [0, 1], resized, standardised."""
    if pixels.dim() != 4 or pixels.shape[1] != 3:
        raise ValueError(f"Expected pixels shaped (B, 3, H, W), got {tuple(pixels.shape)}.")
    values = pixels.float() / 255.0
    if values.shape[-2:] != (image_size, image_size):
        values = F.interpolate(values, size=(image_size, image_size), mode="bilinear", align_corners=False,
                               antialias=values.shape[-1] > image_size)
    mean_t = torch.tensor(mean, dtype=values.dtype, device=values.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=values.dtype, device=values.device).view(1, 3, 1, 1)
    return (values - mean_t) / std_t


def _read_bytes(source: bytes | str | Path | io.IOBase) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"No file at {str(path)!r}.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageTooLargeError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MB.")
        return path.read_bytes()
    if hasattr(source, "read"):
        return source.read(MAX_FILE_BYTES + 1)
    raise ImageError(f"Cannot read an image from a {type(source).__name__}.")
