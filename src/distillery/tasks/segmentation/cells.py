"""A generated microscopy-like dataset in COCO format: cells and nuclei of varied shapes, textures and contrast.

The segmentation demo's data, and (in the ``shapes`` style) the differently drawn set its demo
pretrained weights learn from. Each image is ``size`` pixels square, in one of two modalities
drawn per image: fluorescence (dark background, bright tinted objects) or brightfield (light
background, dark objects), with uneven illumination, sensor noise and a contrast drawn per image.

- ``cells`` style: two categories. A ``cell`` is a large irregular outline (a radius that wobbles
  with the angle: a few low harmonics of random phase) with a textured interior and a brighter
  rim; a ``nucleus`` is small, rounder, denser and more contrasted. Objects do not overlap.
- ``shapes`` style: one category, ``object``: ellipses and triangles, flat-filled, on the same
  backgrounds: a model learns from it what an object's outline is, not what a cell looks like.

Masks are written as polygons (the outline's vertices), every third one as compressed RLE, so the
reader's two paths are both used. Deterministic: one seed per split and image.

    python -m distillery.tasks.segmentation.cells --out data/cells [--style shapes]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask
from tqdm import tqdm

from distillery.atomic import atomic_dir
from distillery.data.demo import png_bytes
from distillery.data.sources import SPLITS
from distillery.tasks.segmentation.coco import ANNOTATIONS, IMAGES, decode_mask

VERTICES = 40  # an outline's polygon: enough for a smooth edge at 128-256 px
STYLES = {"cells": ("cell", "nucleus"), "shapes": ("object",)}


@dataclass(frozen=True)
class CellSpec:
    counts: tuple[int, int, int] = (64, 16, 16)  # images in train, val, test
    size: int = 128
    objects: tuple[int, int] = (3, 7)  # per image, both ends included
    style: Literal["cells", "shapes"] = "cells"
    seed: int = 0


@dataclass(frozen=True)
class Outline:
    category: str
    polygon: np.ndarray  # (VERTICES, 2) x, y in pixels
    centre: tuple[float, float]
    radius: float


def wobbly_outline(rng: np.random.Generator, centre: tuple[float, float], radius: float, wobble: float) -> np.ndarray:
    """A closed outline whose radius varies with the angle by a few random low harmonics."""
    angles = np.linspace(0, 2 * np.pi, VERTICES, endpoint=False)
    r = np.ones_like(angles)
    for harmonic in (2, 3, 4, 5):
        r += wobble / harmonic * rng.uniform(-1, 1) * np.cos(harmonic * angles + rng.uniform(0, 2 * np.pi))
    r *= radius
    return np.stack([centre[0] + r * np.cos(angles), centre[1] + r * np.sin(angles)], axis=1)


def shape_outline(rng: np.random.Generator, centre: tuple[float, float], radius: float) -> np.ndarray:
    """An ellipse or a triangle (the ``shapes`` style), turned by a random angle."""
    turn = rng.uniform(0, 2 * np.pi)
    if rng.random() < 0.5:
        angles = np.linspace(0, 2 * np.pi, VERTICES, endpoint=False)
        ratio = rng.uniform(0.45, 1.0)
        xs, ys = radius * np.cos(angles), radius * ratio * np.sin(angles)
    else:
        angles = turn + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.3, 0.3, 3)
        xs, ys, turn = radius * np.cos(angles), radius * np.sin(angles), 0.0
    cos, sin = np.cos(turn), np.sin(turn)
    return np.stack([centre[0] + cos * xs - sin * ys, centre[1] + sin * xs + cos * ys], axis=1)


def place_outlines(rng: np.random.Generator, spec: CellSpec) -> list[Outline]:
    """Non-overlapping objects (rejection sampling on their bounding circles), inside the image."""
    wanted = int(rng.integers(spec.objects[0], spec.objects[1] + 1))
    placed: list[Outline] = []
    for _ in range(wanted * 30):
        if len(placed) == wanted:
            break
        category = STYLES[spec.style][int(rng.integers(len(STYLES[spec.style])))]
        radius = spec.size * (rng.uniform(0.07, 0.14) if category == "cell" else rng.uniform(0.04, 0.08)
                              if category == "nucleus" else rng.uniform(0.05, 0.13))
        reach = radius * 1.35  # the wobble's largest excursion
        centre = tuple(rng.uniform(reach + 1, spec.size - reach - 1, 2))
        if any(np.hypot(centre[0] - o.centre[0], centre[1] - o.centre[1]) < reach + o.radius * 1.35 + 2
               for o in placed):
            continue
        polygon = (shape_outline(rng, centre, radius) if spec.style == "shapes"
                   else wobbly_outline(rng, centre, radius, 0.35 if category == "cell" else 0.15))
        placed.append(Outline(category, polygon, centre, radius))
    return placed


def smooth_noise(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """Noise with blobs about ``scale`` pixels wide, in [-1, 1]: a coarse grid, upsampled bilinearly."""
    coarse = rng.uniform(-1, 1, (size // scale + 2, size // scale + 2)).astype(np.float32)
    image = Image.fromarray(coarse, mode="F").resize((size + 2 * scale, size + 2 * scale), Image.BILINEAR)
    return np.asarray(image)[scale:scale + size, scale:scale + size]


def render(rng: np.random.Generator, spec: CellSpec, outlines: list[Outline]) -> np.ndarray:
    """The RGB picture of the outlines on a background of the image's modality."""
    size = spec.size
    fluorescence = rng.random() < 0.5
    contrast = rng.uniform(0.25, 1.0)
    ys, xs = np.mgrid[0:size, 0:size] / size
    illumination = 1 + 0.25 * (rng.uniform(-1, 1) * xs + rng.uniform(-1, 1) * ys)
    background = (0.08 if fluorescence else 0.85) + 0.04 * smooth_noise(rng, size, 16)
    picture = np.repeat((background * illumination)[..., None], 3, axis=2)
    tint = rng.uniform(0.3, 1.0, 3) if fluorescence else np.ones(3)
    for outline in outlines:
        mask = decode_mask([outline.polygon.ravel().tolist()], size, size).astype(bool)
        dense = 1.0 if outline.category == "nucleus" else 0.6
        texture = 0.0 if spec.style == "shapes" else 0.25 * smooth_noise(rng, size, 3)
        strength = np.full((size, size), contrast * dense) * (1 + texture)
        if outline.category == "cell":  # a brighter rim: the membrane
            inner = decode_mask([(outline.centre + 0.8 * (outline.polygon - outline.centre)).ravel().tolist()],
                                size, size).astype(bool)
            strength = np.where(mask & ~inner, strength * 1.4, strength)
        change = strength[..., None] * (tint if fluorescence else -0.8 * np.ones(3))
        picture = np.where(mask[..., None], picture + change, picture)
    picture += rng.normal(0, rng.uniform(0.01, 0.05), picture.shape)
    return (np.clip(picture, 0, 1) * 255).round().astype(np.uint8)


def annotation(outline: Outline, annotation_id: int, image_id: int, category_id: int, size: int) -> dict:
    mask = decode_mask([outline.polygon.ravel().tolist()], size, size)
    x, y = outline.polygon[:, 0], outline.polygon[:, 1]
    box = [round(float(x.min()), 2), round(float(y.min()), 2), round(float(np.ptp(x)), 2), round(float(np.ptp(y)), 2)]
    if annotation_id % 3 == 0:
        encoded = coco_mask.encode(np.asfortranarray(mask))
        segmentation: object = {"size": list(encoded["size"]), "counts": encoded["counts"].decode()}
    else:
        segmentation = [[round(float(v), 2) for v in outline.polygon.ravel()]]
    return {"id": annotation_id, "image_id": image_id, "category_id": category_id, "bbox": box,
            "area": int(mask.sum()), "segmentation": segmentation, "iscrowd": 0}


def write_cells(out: Path, spec: CellSpec) -> int:
    """Write ``<split>/images/*.png`` and ``<split>/annotations.json`` into ``out``; return the image count."""
    categories = STYLES[spec.style]
    written = 0
    with atomic_dir(out) as tmp:
        for split, count in zip(SPLITS, spec.counts, strict=True):
            document: dict = {"images": [], "annotations": [],
                              "categories": [{"id": i + 1, "name": name} for i, name in enumerate(categories)]}
            (tmp / split / IMAGES).mkdir(parents=True)
            for image_id in tqdm(range(1, count + 1), desc=f"{spec.style} {split}", unit="img", leave=False):
                rng = np.random.default_rng([spec.seed, SPLITS.index(split), image_id])
                outlines = place_outlines(rng, spec)
                name = f"{split}_{image_id:04d}.png"
                (tmp / split / IMAGES / name).write_bytes(png_bytes(render(rng, spec, outlines)))
                document["images"].append({"id": image_id, "file_name": name, "width": spec.size,
                                           "height": spec.size})
                for outline in outlines:
                    document["annotations"].append(annotation(outline, len(document["annotations"]) + 1, image_id,
                                                              categories.index(outline.category) + 1, spec.size))
            (tmp / split / ANNOTATIONS).write_text(json.dumps(document), encoding="utf-8")
            written += count
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--style", choices=sorted(STYLES), default="cells")
    parser.add_argument("--counts", type=int, nargs=3, default=list(CellSpec.counts), metavar=("TRAIN", "VAL", "TEST"))
    parser.add_argument("--size", type=int, default=CellSpec.size)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = CellSpec(counts=tuple(args.counts), size=args.size, style=args.style, seed=args.seed)
    print(f"wrote {write_cells(args.out, spec)} images to {args.out}")


if __name__ == "__main__":
    main()
