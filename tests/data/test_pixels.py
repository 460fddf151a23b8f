"""Every common pixel mode decodes to 8-bit RGB with its range kept (16-bit and float were destroyed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from distillery.data.pixels import decode

RAMP = np.tile(np.linspace(0, 1, 64), (8, 1))  # 8 x 64, left 0 -> right 1


def _grey_of(path) -> np.ndarray:
    return np.asarray(decode(path, 10**8), dtype=np.float64).mean(axis=2)


def _assert_ramp(grey: np.ndarray) -> None:
    expected = RAMP * 255
    assert np.abs(grey - expected).max() <= 2.0, f"ramp lost: row 0 = {grey[0, ::8]}"


@pytest.mark.parametrize(("mode", "suffix", "values"), [
    ("L", ".png", (RAMP * 255).round().astype(np.uint8)),
    ("I;16", ".png", (RAMP * 65535).round().astype(np.uint16)),
    ("I", ".tif", (RAMP * 65535).round().astype(np.int32)),
    ("F", ".tif", RAMP.astype(np.float32)),
])
def test_wide_and_grey_samples_scale_by_their_range(tmp_path, mode, suffix, values) -> None:
    path = tmp_path / f"ramp-{mode.replace(';', '')}{suffix}"
    Image.fromarray(values, mode if mode != "I;16" else None).save(path)
    with Image.open(path) as written:
        assert written.mode == mode
    _assert_ramp(_grey_of(path))


def test_float_outside_unit_range_scales_by_the_observed_range(tmp_path) -> None:
    path = tmp_path / "radiance.tif"
    Image.fromarray((RAMP * 1000 - 200).astype(np.float32), "F").save(path)
    _assert_ramp(_grey_of(path))


@pytest.mark.parametrize(("mode", "suffix"), [("LA", ".png"), ("P", ".png"), ("RGBA", ".png"), ("CMYK", ".jpg"),
                                              ("P", ".gif"), ("RGB", ".webp")])
def test_eight_bit_modes_convert_as_pillow_does(tmp_path, mode, suffix) -> None:
    rgb = Image.fromarray(np.stack([(RAMP * 255).round().astype(np.uint8)] * 3, axis=2), "RGB")
    image = rgb.quantize(256) if mode == "P" else rgb.convert(mode)  # an adaptive palette keeps every grey
    path = tmp_path / f"image-{mode}{suffix}"
    image.save(path, **({"lossless": True} if suffix == ".webp" else {"quality": 100} if suffix == ".jpg" else {}))
    decoded = decode(path, 10**8)
    assert decoded.mode == "RGB" and decoded.size == (64, 8)
    with Image.open(path) as reopened:
        assert np.array_equal(np.asarray(decoded), np.asarray(reopened.convert("RGB")))
    if mode != "CMYK":  # JPEG's CMYK round trip is lossy by design
        _assert_ramp(np.asarray(decoded, dtype=np.float64).mean(axis=2))
