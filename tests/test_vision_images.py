"""Untrusted image files: each odd or bad kind gives a usable picture or a clear error."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from dashboard.figures.render import enlarge, grey_out
from pruning_core.vision import ImageError, ImageTooLargeError, images_to_pixels, normalize_pixels, read_image
from vision_helpers import encode


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid small PNG whose header is rewritten to claim width x height (with a correct CRC)."""
    data = bytearray(encode(Image.new("RGB", (4, 4), (10, 20, 30))))
    ihdr_start = 8 + 4 + 4                              # signature, chunk length, b"IHDR"
    data[ihdr_start:ihdr_start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:ihdr_start + 13]))   # over b"IHDR" + its 13 data bytes
    data[ihdr_start + 13:ihdr_start + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("side", [20_000, 7_000], ids=["pillow-bomb-size", "over-our-limit"])
def test_huge_images_are_refused_before_decoding(monkeypatch, side):
    data = png_claiming_size(side, side)

    def must_not_decode(*args, **kwargs):
        raise AssertionError("the pixels were decoded")
    monkeypatch.setattr(Image.Image, "load", must_not_decode)
    monkeypatch.setattr(Image.core, "new", must_not_decode)   # no pixel buffer is even allocated
    with pytest.raises(ImageTooLargeError, match="megapixels are accepted"):
        read_image(data)


def test_a_large_but_allowed_header_passes_the_size_check():
    with pytest.raises(ImageError) as caught:   # the fake header passes the check, then decoding fails
        read_image(png_claiming_size(3000, 2000))
    assert not isinstance(caught.value, ImageTooLargeError)
    assert "decoded" in str(caught.value)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is a text file, not a picture\n" * 20, "not an image"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "not an image"),
])
def test_non_images_get_a_clear_error(data, message):
    with pytest.raises(ImageError, match=message):
        read_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_files_get_a_clear_error(fmt):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = encode(noisy, fmt)
    with pytest.raises(ImageError, match="truncated or corrupt|not an image"):
        read_image(data[: len(data) // 2])


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ImageError, match="No file"):
        read_image(tmp_path / "nothing.png")


def test_grayscale_becomes_rgb_with_equal_channels():
    image = read_image(encode(Image.new("L", (10, 6), 77)))
    assert image.mode == "RGB" and image.size == (10, 6)
    assert np.asarray(image)[0, 0].tolist() == [77, 77, 77]


def test_rgba_transparency_lies_over_white():
    picture = Image.new("RGBA", (4, 4), (255, 0, 0, 255))
    picture.putpixel((0, 0), (0, 0, 255, 0))          # fully transparent blue
    image = np.asarray(read_image(encode(picture)))
    assert image[0, 0].tolist() == [255, 255, 255]
    assert image[1, 1].tolist() == [255, 0, 0]


def test_palette_with_transparency_is_handled():
    picture = Image.new("P", (4, 4), 1)
    picture.putpalette([0, 0, 0, 0, 200, 0] + [0] * (256 * 3 - 6))
    picture.putpixel((0, 0), 0)
    image = np.asarray(read_image(encode(picture, transparency=0)))
    assert image[0, 0].tolist() == [255, 255, 255]
    assert image[2, 2].tolist() == [0, 200, 0]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_give_their_first_frame(fmt):
    frames = [Image.new("RGB", (8, 8), color) for color in ((250, 0, 0), (0, 0, 250), (0, 250, 0))]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                  **({"lossless": True} if fmt == "WEBP" else {}))
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    red, green, blue = np.asarray(read_image(data))[4, 4].tolist()
    assert red > 200 and green < 50 and blue < 50


def test_sixteen_bit_grayscale_is_rescaled():
    values = np.array([[0, 1000], [30000, 65535]], dtype=np.uint16)
    image = np.asarray(read_image(encode(Image.fromarray(values))))
    assert image[0, 0].tolist() == [0, 0, 0] and image[1, 1].tolist() == [255, 255, 255]


def test_exif_rotation_is_applied():
    picture = Image.new("RGB", (6, 2), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6                                   # orientation: rotate 90 degrees clockwise
    assert read_image(encode(picture, "JPEG", exif=exif)).size == (2, 6)


def test_images_become_square_pixels_then_model_input():
    wide = Image.new("RGB", (90, 30), (0, 0, 255))
    wide.paste((255, 0, 0), (30, 0, 60, 30))          # a red square in the middle third
    pixels = images_to_pixels([wide, Image.new("RGB", (8, 8), (0, 255, 0))], 32)
    assert pixels.shape == (2, 3, 32, 32) and pixels.dtype == torch.uint8
    assert pixels[0, :, 16, 16].tolist() == [255, 0, 0], "centre crop keeps the middle"
    assert pixels[0, 2].float().mean() < 10, "the blue sides are cropped away"
    values = normalize_pixels(pixels, 48, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert values.shape == (2, 3, 48, 48)
    torch.testing.assert_close(values[1, 1], torch.ones(48, 48))
    torch.testing.assert_close(values[1, 0], -torch.ones(48, 48))


def test_grey_out_fades_only_the_dropped_patches():
    image = Image.new("RGB", (24, 24), (0, 0, 0))
    alive = np.ones((3, 3), dtype=bool)
    alive[1, 2] = False
    result = np.asarray(grey_out(image, alive))
    assert result[0:8, 0:16].max() == 0
    assert (result[8:16, 16:24] > 150).all()
    assert enlarge(image, 96).size == (96, 96)


def test_a_size_between_our_limit_and_pillows_error_is_refused_too():
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(ImageTooLargeError, match="12000x12000"):
        read_image(png_claiming_size(12_000, 12_000))   # 144 MP: Pillow only warns; we refuse
