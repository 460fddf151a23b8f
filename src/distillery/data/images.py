"""Decoding image files safely: every failure becomes an ``ImageProblem`` with a reason."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")


class ImageProblem(Exception):
    """The file is not a usable image; ``str(exc)`` says why."""


def decode_rgb(source: Path | BinaryIO, max_pixels: int, size: int | None = None) -> Image.Image:
    """Fully decode an image file (a path, or an open binary stream of ``size`` bytes) as RGB.

    Honours EXIF orientation. Refuses zero-byte and truncated files, anything Pillow cannot
    identify, and images over ``max_pixels`` (decompression bombs) before their pixels are
    allocated.
    """
    if size is None:
        try:
            size = Path(source).stat().st_size
        except OSError as exc:
            raise ImageProblem(f"cannot read file ({exc.strerror})") from None
    if size == 0:
        raise ImageProblem("zero-byte file")
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageProblem(
                    f"{width}x{height} exceeds data.max_pixels={max_pixels} (decompression bomb?)"
                )
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except ImageProblem:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ImageProblem(f"corrupt or unsupported image ({exc})") from None
