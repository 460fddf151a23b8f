import numpy as np
from PIL import Image

from distillery.data.letterbox import Letterbox


def test_wide_image_is_scaled_to_width_and_centred_vertically() -> None:
    box = Letterbox(size=32, pad_value=7)
    image = Image.fromarray(np.full((10, 40, 3), 200, dtype=np.uint8))
    assert box.geometry(40, 10) == (32, 8, 0, 12)
    out = box.apply(image)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert (out[:12] == 7).all() and (out[20:] == 7).all()
    assert (out[12:20] == 200).all()


def test_square_image_of_target_size_is_unchanged() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(Letterbox(16, 0).apply(Image.fromarray(pixels)), pixels)


def test_tall_image_and_tiny_sides_keep_at_least_one_pixel() -> None:
    assert Letterbox(64, 0).geometry(1, 1000) == (1, 64, 31, 0)


def test_describe_documents_the_spec() -> None:
    assert Letterbox(64, 3).describe() == {
        "size": 64, "pad_value": 3, "resample": "bilinear", "align": "center", "channel_order": "RGB",
    }
