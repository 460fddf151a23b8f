"""Prepared uint8 batches -> normalised model input."""

from __future__ import annotations

import numpy as np
import torch

from distillery.data.batches import Normalizer, to_tensor


def test_normalising_the_bytes_directly_is_bit_identical_to_the_float_path() -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 7, 9, 3), dtype=np.uint8)
    normalizer = Normalizer([127.0, 120.5, 3.0], [128.0, 57.3, 1.5])
    direct = normalizer.images(images[::-1])  # a strided view, as a fancy-indexed batch can be
    assert direct.dtype == torch.float32 and direct.shape == (5, 3, 7, 9)
    assert direct.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(direct, normalizer(to_tensor(images[::-1])))
    assert torch.allclose(direct[1, 1], (torch.from_numpy(images[3, :, :, 1]).float() - 120.5) / 57.3)
