"""Restoration's own sections of params.yaml, validated like the rest (``distillery.config.build_section``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from distillery.config import Policy, at_least, between, build_section


@dataclass(frozen=True)
class Degradation:
    """What turns a clean image into the model's input when the data holds clean images only.

    Applied in this order, as a camera pipeline would: Gaussian blur, Gaussian noise, JPEG.
    """

    noise_sigma: float = between(0.0, 255.0)  # on the 0-255 scale (25 = the usual "sigma 25" benchmark)
    blur_sigma: float = between(0.0, 20.0)  # pixels; 0 = no blur
    jpeg_quality: int = between(0, 100)  # 0 = no JPEG round trip


@dataclass(frozen=True)
class ProblemPolicy:
    """What prepare does with each kind of bad image: stop (``error``) or drop it and list it."""

    unreadable: Policy
    too_small: Policy
    size_mismatch: Policy
    missing_partner: Policy
    duplicate: Policy
    cross_split_duplicate: Policy


@dataclass(frozen=True)
class RestorationData:
    layout: Literal["auto", "pairs", "clean"]
    crop_size: int = between(16, 1024)  # training crops; every image must be at least this large
    max_pixels: int = at_least(1)
    val_fraction: float = between(0.0, 0.5)
    test_fraction: float = between(0.0, 0.5)
    degradation: Degradation
    on_problem: ProblemPolicy


def parse_data(value: Any, key: str = "data") -> RestorationData:
    return build_section(RestorationData, value, key)
