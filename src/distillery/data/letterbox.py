"""The letterbox resize: the single definition used by prepare, training, export and the apps.

Spec (what inference_config.json documents, and what a C implementation must do):
scale = size / max(width, height); the image is resized to (round(width * scale),
round(height * scale)), at least 1 pixel per side, with bilinear filtering (Pillow's, which
antialiases when shrinking); it is pasted at offset ((size - w) // 2, (size - h) // 2) on a
size x size RGB canvas filled with ``pad_value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Letterbox:
    size: int
    pad_value: int

    def geometry(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(new_width, new_height, left, top) for an input of ``width`` x ``height``."""
        scale = self.size / max(width, height)
        new_w = max(1, min(self.size, round(width * scale)))
        new_h = max(1, min(self.size, round(height * scale)))
        return new_w, new_h, (self.size - new_w) // 2, (self.size - new_h) // 2

    def apply(self, image: Image.Image) -> np.ndarray:
        """Letterbox an RGB image into a ``(size, size, 3)`` uint8 array."""
        new_w, new_h, left, top = self.geometry(*image.size)
        if (new_w, new_h) != image.size:
            image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
        canvas = np.full((self.size, self.size, 3), self.pad_value, dtype=np.uint8)
        canvas[top : top + new_h, left : left + new_w] = np.asarray(image, dtype=np.uint8)
        return canvas

    def describe(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "pad_value": self.pad_value,
            "resample": "bilinear",
            "align": "center",
            "channel_order": "RGB",
        }
