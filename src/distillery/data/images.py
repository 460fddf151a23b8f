"""Decoding image files safely: every failure becomes an ``ImageProblem`` with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from PIL import Image

from distillery.data.pixels import DecodeError, decode

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")


class ImageProblem(Exception):
    """The file is not a usable image; ``str(exc)`` says why."""


def decode_rgb(source: Path | BinaryIO, max_pixels: int, size: int | None = None) -> Image.Image:
    """Fully decode an image file (a path, or an open binary stream of ``size`` bytes) as 8-bit RGB.

    Refuses zero-byte files, then everything ``pixels.decode`` refuses (truncated or unknown files,
    decompression bombs over ``max_pixels``); wide samples (16-bit, float) are scaled, not clipped.
    """
    if size is None:
        try:
            size = Path(source).stat().st_size
        except OSError as exc:
            raise ImageProblem(f"cannot read file ({exc.strerror})") from None
    if size == 0:
        raise ImageProblem("zero-byte file")
    try:
        return decode(source, max_pixels, "data.max_pixels")
    except DecodeError as exc:
        raise ImageProblem(str(exc)) from None
