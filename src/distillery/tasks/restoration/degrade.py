"""Deterministic degradation of clean images: the same input on every run and machine.

Each image gets its own random stream, seeded by the pipeline's seed and the image's name (not its
position), so adding an image to the dataset changes no other image's noise.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageFilter

from distillery.config import Degradation


def image_rng(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def degrade(clean: np.ndarray, spec: Degradation, seed: int, name: str) -> np.ndarray:
    """``clean`` (H x W x 3 uint8) degraded by ``spec``, as uint8: what a camera would have saved."""
    image = clean
    if spec.blur_sigma > 0:
        image = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(spec.blur_sigma)))
    if spec.noise_sigma > 0:
        noise = image_rng(seed, name).normal(0.0, spec.noise_sigma, size=image.shape)
        image = np.clip(np.rint(image.astype(np.float64) + noise), 0, 255).astype(np.uint8)
    if spec.jpeg_quality > 0:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=spec.jpeg_quality)
        image = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return np.ascontiguousarray(image)


def describe(spec: Degradation) -> str:
    parts = [f"Gaussian blur sigma {spec.blur_sigma:g} px" if spec.blur_sigma else "",
             f"Gaussian noise sigma {spec.noise_sigma:g}/255" if spec.noise_sigma else "",
             f"JPEG quality {spec.jpeg_quality}" if spec.jpeg_quality else ""]
    return ", then ".join(p for p in parts if p) or "none"
