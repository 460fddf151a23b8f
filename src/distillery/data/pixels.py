"""Image files -> 8-bit RGB, whatever their mode: the one decoder of prepare and of the exported bundle.

It needs only numpy and Pillow, because the export stage copies this file into the bundle, where
``predict.py`` decodes with it. ``Image.convert("RGB")`` alone clips wider samples: a 16-bit ramp
0..65535 becomes all white and a float image in 0..1 all black. Here 8-bit modes (1, L, LA, P, PA,
RGB, RGBA, CMYK, YCbCr, ...) convert as Pillow does (alpha dropped); 16-bit samples scale by their
full range (v / 257); 32-bit integers and floats scale by their declared range when the values fit
one (0..255, 0..65535, or 0..1 for floats) and by the observed min..max otherwise.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


class DecodeError(ValueError):
    """The file is not an image this decoder accepts; ``str(exc)`` says why."""


def _scaled_to_8bit(values: np.ndarray, declared_max: float | None) -> np.ndarray:
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if declared_max is not None:
        low, high = 0.0, declared_max
    else:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.round((values - low) * (255.0 / (high - low))), 0, 255).astype(np.uint8)


def _declared_range(values: np.ndarray, is_float: bool) -> float | None:
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if low < 0:
        return None
    if is_float:
        return 1.0 if high <= 1.0 else None
    if high <= 255:
        return 255.0
    return 65535.0 if high <= 65535 else None


def to_rgb8(image: Image.Image) -> Image.Image:
    """An opened image (any mode) as 8-bit RGB, with wide samples scaled instead of clipped."""
    if image.mode in SIXTEEN_BIT_MODES:
        grey = _scaled_to_8bit(np.asarray(image, dtype=np.uint16), 65535.0)
        return Image.fromarray(grey, "L").convert("RGB")
    if image.mode in ("I", "F"):
        values = np.asarray(image)
        if values.size == 0:
            raise DecodeError(f"empty {image.mode} image")
        grey = _scaled_to_8bit(values, _declared_range(values, image.mode == "F"))
        return Image.fromarray(grey, "L").convert("RGB")
    return image.convert("RGB")


def decode(source: str | Path | BinaryIO, max_pixels: int, limit_name: str = "max_pixels") -> Image.Image:
    """Fully decode an image file as 8-bit RGB, honouring EXIF orientation.

    Refuses anything Pillow cannot identify, truncated files, and images over ``max_pixels``
    (decompression bombs) before their pixels are allocated.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit that counts is ours
            image = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"refused as a decompression bomb by Pillow ({exc.args[0]}); "
                          f"{limit_name}={max_pixels}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DecodeError(f"corrupt or unsupported image ({exc})") from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise DecodeError(f"{width}x{height} exceeds {limit_name}={max_pixels} (decompression bomb?)")
        try:
            image.load()
            return to_rgb8(ImageOps.exif_transpose(image))
        except (OSError, ValueError, SyntaxError) as exc:
            raise DecodeError(f"corrupt or unsupported image ({exc})") from None
