"""Reading a segmentation dataset in COCO format: instance masks (polygons or RLE), checked one by one.

Two layouts: split folders, ``<root>/<split>/annotations.json`` with the images under
``<root>/<split>/images/`` (``train``, ``val`` and optionally ``test``), or one
``<root>/annotations.json`` with ``<root>/images/``, which prepare splits by image
(``assign_splits``: stratified by each image's most frequent category). ``file_name`` is relative
to the ``images/`` folder beside its annotations file.

Every problem is one line naming the image file or the annotation id and the annotations file it
came from; the policy of its kind (``error`` or ``drop``) decides, as in classification
(``distillery.data.validate.Report``): an image missing, unreadable or of another size than the file
says; an image id or annotation id used twice; an annotation for an unknown image or category; a
polygon with fewer than 3 points; a polygon, RLE mask or box outside its image; a mask of zero
area; an image without annotations. Crowd annotations (``iscrowd: 1``, several objects in one
mask) cannot be prompted by one box: they are skipped and counted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError
from pycocotools import mask as coco_mask

from distillery.data.sources import SPLITS
from distillery.data.validate import Problem, Report, resolve_inside
from distillery.errors import DataError

ANNOTATIONS = "annotations.json"
IMAGES = "images"
Policy = Literal["error", "drop"]
EDGE_TOLERANCE = 1.0  # pixels: COCO tools round polygon vertices and boxes to the pixel grid


@dataclass(frozen=True)
class CocoProblemPolicy:
    """What segmentation's prepare does with each kind of problem: stop (``error``) or drop and list it."""

    unreadable: Policy = "error"
    size_mismatch: Policy = "error"
    duplicate: Policy = "error"
    unknown_image: Policy = "error"
    unknown_category: Policy = "error"
    degenerate_polygon: Policy = "error"
    outside_image: Policy = "error"
    empty_mask: Policy = "error"
    no_annotations: Policy = "error"


@dataclass(frozen=True)
class Instance:
    annotation_id: int
    category: str
    box: tuple[float, float, float, float]  # x, y, width, height in pixels, as COCO writes it
    segmentation: Any  # polygons (a list of [x1, y1, x2, y2, ...]) or RLE ({"size": [h, w], "counts": ...})


@dataclass(frozen=True)
class CocoImage:
    path: str  # relative to the dataset root
    width: int
    height: int
    split: str | None
    instances: tuple[Instance, ...]


@dataclass
class CocoListing:
    categories: tuple[str, ...]  # every split's, sorted by name
    images: list[CocoImage]
    report: Report
    crowd_skipped: int = 0


@dataclass
class _Split:
    """One annotations file while it is read."""

    file: Path
    origin: str
    images: dict[int, dict[str, Any]] = field(default_factory=dict)
    instances: dict[int, list[Instance]] = field(default_factory=dict)


def read_coco(root: Path, policy: CocoProblemPolicy) -> CocoListing:
    """Every image and instance of the dataset under ``root``, checked; problems go to the report."""
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    splits = [s for s in SPLITS if (root / s / ANNOTATIONS).is_file()]
    files = [(root / s / ANNOTATIONS, s) for s in splits] or [(root / ANNOTATIONS, None)]
    if not files[0][0].is_file():
        raise DataError(f"{root}: no {ANNOTATIONS}; a COCO dataset is [<split>/]{ANNOTATIONS} with the images "
                        f"in [<split>/]{IMAGES}/")
    listing = CocoListing((), [], Report(policy))
    categories: set[str] = set()
    for file, split in files:
        document = _load(file)
        names = _categories(document, file)
        categories |= set(names.values())
        listing.images += _read_split(root, file, split, document, names, listing)
    listing.categories = tuple(sorted(categories))
    return listing


def _load(file: Path) -> dict[str, Any]:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{file}: not a readable JSON file ({exc})") from None
    missing = [key for key in ("images", "annotations", "categories") if not isinstance(document.get(key), list)]
    if missing:
        raise DataError(f"{file}: no {', '.join(missing)} list; a COCO instances file has images, annotations "
                        "and categories")
    return document


def _categories(document: dict[str, Any], file: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    for entry in document["categories"]:
        if not isinstance(entry.get("id"), int) or not str(entry.get("name", "")).strip():
            raise DataError(f"{file}: category {entry!r} needs an integer id and a name")
        if entry["id"] in names:
            raise DataError(f"{file}: category id {entry['id']} is used twice")
        names[entry["id"]] = str(entry["name"]).strip()
    return names


def _read_split(root: Path, file: Path, split: str | None, document: dict[str, Any], names: dict[int, str],
                listing: CocoListing) -> list[CocoImage]:
    origin = file.relative_to(root).as_posix()
    images: dict[int, tuple[str, int, int]] = {}
    rejected: set[Any] = set()  # their annotations go with them: the image's problem is the one line
    for entry in document["images"]:
        checked = _check_image(root, file.parent, entry, origin, images, listing.report)
        if checked is None:
            rejected.add(entry.get("id"))
        else:
            images[entry["id"]] = checked
    instances: dict[int, list[Instance]] = {image_id: [] for image_id in images}
    seen: set[int] = set()
    for entry in document["annotations"]:
        if entry.get("iscrowd"):
            listing.crowd_skipped += 1
            continue
        if entry.get("image_id") in rejected and entry.get("image_id") not in images:
            continue
        instance = _check_annotation(entry, origin, images, names, seen, listing.report)
        if instance is not None:
            instances[entry["image_id"]].append(instance)
    out = []
    for image_id, (path, width, height) in images.items():
        if not instances[image_id]:
            listing.report.add(Problem("no_annotations", path, "no instance annotated", origin))
            continue
        out.append(CocoImage(path, width, height, split, tuple(instances[image_id])))
    return out


def _check_image(root: Path, folder: Path, entry: dict[str, Any], origin: str, known: dict[int, Any],
                 report: Report) -> tuple[str, int, int] | None:
    """(path from root, width, height) of a usable image entry; a problem reported otherwise."""
    name = str(entry.get("file_name", ""))
    rel = (folder.relative_to(root) / IMAGES / name).as_posix() if folder != root else f"{IMAGES}/{name}"
    if entry.get("id") in known:
        report.add(Problem("duplicate", rel, f"image id {entry.get('id')} is used twice", origin))
        return None
    declared = entry.get("width"), entry.get("height")
    if not isinstance(entry.get("id"), int) or not all(isinstance(v, int) and v > 0 for v in declared):
        report.add(Problem("unreadable", rel, "the image entry needs an integer id, width and height", origin))
        return None
    path = resolve_inside(root, rel)
    try:
        if path is None:
            raise OSError("the path escapes the dataset folder")
        with Image.open(path) as image:
            image.verify()
            size = image.size
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        report.add(Problem("unreadable", rel, f"cannot read the image ({exc})", origin))
        return None
    if size != declared:
        report.add(Problem("size_mismatch", rel, f"the file is {size[0]}x{size[1]}, {origin} says "
                                                 f"{declared[0]}x{declared[1]}", origin))
        return None
    return rel, *declared


def _check_annotation(entry: dict[str, Any], origin: str, images: dict[int, tuple[str, int, int]],
                      names: dict[int, str], seen: set[int], report: Report) -> Instance | None:
    """The annotation as an instance, or None with its problem reported."""
    label = f"annotation {entry.get('id')}"
    if entry.get("id") in seen:
        report.add(Problem("duplicate", label, "annotation id used twice", origin))
        return None
    seen.add(entry.get("id"))
    if entry.get("image_id") not in images:
        report.add(Problem("unknown_image", label, f"image id {entry.get('image_id')} is not in images", origin))
        return None
    if entry.get("category_id") not in names:
        report.add(Problem("unknown_category", label, f"category id {entry.get('category_id')} is not in "
                                                      "categories", origin))
        return None
    _, width, height = images[entry["image_id"]]
    problem = _geometry_problem(entry, width, height)
    if problem is not None:
        report.add(Problem(problem[0], label, problem[1], origin))
        return None
    return Instance(entry["id"], names[entry["category_id"]], tuple(float(v) for v in entry["bbox"]),
                    entry["segmentation"])


def _geometry_problem(entry: dict[str, Any], width: int, height: int) -> tuple[str, str] | None:
    """(kind, detail) of the first thing wrong with the annotation's box and mask, or None."""
    box, segmentation = entry.get("bbox"), entry.get("segmentation")
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box)):
        return "outside_image", f"bbox {box!r} is not [x, y, width, height]"
    x, y, w, h = box
    if w <= 0 or h <= 0:
        return "empty_mask", f"bbox {box} has no area"
    if x < -EDGE_TOLERANCE or y < -EDGE_TOLERANCE or x + w > width + EDGE_TOLERANCE or y + h > height + EDGE_TOLERANCE:
        return "outside_image", f"bbox {box} is outside the {width}x{height} image"
    if isinstance(segmentation, list):
        for polygon in segmentation:
            if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2:
                points = len(polygon) // 2 if isinstance(polygon, list) else 0
                return "degenerate_polygon", f"a polygon with {points} point(s); at least 3 are needed"
            xs, ys = np.asarray(polygon[0::2], dtype=float), np.asarray(polygon[1::2], dtype=float)
            if xs.min() < -EDGE_TOLERANCE or ys.min() < -EDGE_TOLERANCE or xs.max() > width + EDGE_TOLERANCE \
                    or ys.max() > height + EDGE_TOLERANCE:
                return "outside_image", f"a polygon reaches ({xs.max():.0f}, {ys.max():.0f}) or " \
                                        f"({xs.min():.0f}, {ys.min():.0f}), outside the {width}x{height} image"
        if not segmentation:
            return "degenerate_polygon", "no polygon"
    elif isinstance(segmentation, dict):
        if list(segmentation.get("size", [])) != [height, width]:
            return "outside_image", f"RLE size {segmentation.get('size')} is not the image's [{height}, {width}]"
    else:
        return "degenerate_polygon", "segmentation is neither polygons nor RLE"
    if int(decode_mask(segmentation, height, width).sum()) == 0:
        return "empty_mask", "the mask covers no pixel"
    return None


def decode_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """A polygon list or an RLE (compressed or not) as a (height, width) uint8 mask of 0/1."""
    if isinstance(segmentation, list):
        rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = coco_mask.frPyObjects(segmentation, height, width)
    else:
        rle = dict(segmentation, counts=segmentation["counts"].encode() if isinstance(segmentation["counts"], str)
                   else segmentation["counts"])
    return coco_mask.decode(rle)


def main_category(image: CocoImage) -> str:
    """The category with the most instances in the image (ties: the first by name)."""
    counts = Counter(instance.category for instance in image.instances)
    return min(counts, key=lambda name: (-counts[name], name))


def assign_splits(images: list[CocoImage], val_fraction: float, test_fraction: float, seed: int) -> dict[str, str]:
    """Image path -> split for a dataset without split folders: whole images, stratified by main category.

    Each category's images, sorted then shuffled (seeded), are cut by the fractions on their own, so a
    rare category reaches val and test: each split with a fraction gets one of every category that has
    three images or more.
    """
    by_category: dict[str, list[str]] = {}
    for image in images:
        by_category.setdefault(main_category(image), []).append(image.path)
    rng = np.random.default_rng(seed)
    splits: dict[str, str] = {}
    for category in sorted(by_category):
        paths = sorted(by_category[category])
        order = rng.permutation(len(paths))
        enough = len(paths) >= 3
        n_test = max(round(test_fraction * len(paths)), 1 if test_fraction > 0 and enough else 0)
        n_val = max(round(val_fraction * len(paths)), 1 if val_fraction > 0 and enough else 0)
        names = ["test"] * n_test + ["val"] * n_val + ["train"] * (len(paths) - n_test - n_val)
        splits |= {paths[i]: split for i, split in zip(order, names, strict=True)}
    return splits
