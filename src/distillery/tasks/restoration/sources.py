"""Reading a restoration dataset: pairs of degraded and clean images, or clean images only.

Two layouts, each optionally split into ``train/``, ``val/`` (and ``test/``) folders:
- ``pairs``: ``[<split>/]degraded/<name>`` and ``[<split>/]clean/<name>``, matched by file name
  without its suffix (``cat.jpg`` in degraded/ pairs with ``cat.png`` in clean/);
- ``clean``: ``[<split>/]clean/<name>`` only; the degradation in params.yaml makes the inputs.
``auto`` reads ``pairs`` when a ``degraded/`` folder exists. Without split folders, whole images are
assigned to splits by ``data.val_fraction`` / ``data.test_fraction`` (never crops of one image in two
splits). Hidden entries, symbolic links and non-image files are skipped and listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from distillery.data.images import IMAGE_SUFFIXES
from distillery.data.sources import SPLIT_FOLDER_SETS, SPLITS, shown
from distillery.data.validate import Problem
from distillery.errors import DataError

CLEAN, DEGRADED = "clean", "degraded"


@dataclass(frozen=True)
class Pair:
    """One image: its clean file and, in the pairs layout, its degraded partner (relative paths)."""

    name: str  # the split folder and the file name without its suffix: unique in the dataset
    clean: str
    degraded: str | None
    split: str | None


@dataclass
class PairListing:
    layout: str
    pairs: list[Pair]
    problems: list[Problem] = field(default_factory=list)  # missing partners, names used twice
    skipped: list[str] = field(default_factory=list)


def detect_layout(root: Path) -> str:
    folders = [root / split for split in _split_folders(root)] or [root]
    if any((folder / DEGRADED).is_dir() for folder in folders):
        return "pairs"
    if any((folder / CLEAN).is_dir() for folder in folders):
        return "clean"
    raise DataError(f"{root}: no clean/ folder (and no degraded/ beside it); a restoration dataset is "
                    "[<split>/]clean/<images> with an optional [<split>/]degraded/<images> of the same names")


def read_pairs(root: Path, layout: str) -> PairListing:
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    if layout == "auto":
        layout = detect_layout(root)
    listing = PairListing(layout, [])
    splits = _split_folders(root)
    for folder, split in [(root / s, s) for s in splits] or [(root, None)]:
        _read_folder(root, folder, split, layout, listing)
    if not listing.pairs and not listing.problems:
        raise DataError(f"{root}: no images found (layout {layout})")
    return listing


def _split_folders(root: Path) -> list[str]:
    """``train``/``val``(/``test``) when the top-level folders are split folders, else []."""
    children = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")} if root.is_dir() else set()
    if children & set(SPLITS) and children not in SPLIT_FOLDER_SETS:
        raise DataError(f"{root}: split folders ({', '.join(sorted(children & set(SPLITS)))}) beside other "
                        f"folders ({', '.join(sorted(children - set(SPLITS)))}); keep train/val[/test] alone")
    return [s for s in SPLITS if s in children]


def _images(root: Path, folder: Path, listing: PairListing) -> dict[str, str]:
    """Stem -> relative path of the images directly in ``folder``; a stem used twice is a problem."""
    found: dict[str, str] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            listing.skipped.append(f"{shown(rel)}: hidden, a link or not a regular file")
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            listing.skipped.append(f"{shown(rel)}: not an image file ({', '.join(IMAGE_SUFFIXES)})")
        elif path.stem in found:
            listing.problems.append(Problem("duplicate", rel, f"same name as {shown(found[path.stem])}", folder.name))
        else:
            found[path.stem] = rel
    return found


def _read_folder(root: Path, folder: Path, split: str | None, layout: str, listing: PairListing) -> None:
    clean = _images(root, folder / CLEAN, listing)
    degraded = _images(root, folder / DEGRADED, listing) if layout == "pairs" else {}
    where = f"{split}/" if split else ""
    for stem in sorted(clean.keys() | degraded.keys()):
        if layout == "pairs" and (stem not in clean or stem not in degraded):
            have, lacks = (clean[stem], DEGRADED) if stem in clean else (degraded[stem], CLEAN)
            detail = f"no partner named {stem}.* in {where}{lacks}/"
            listing.problems.append(Problem("missing_partner", have, detail, layout))
            continue
        listing.pairs.append(Pair(f"{where}{stem}", clean[stem], degraded.get(stem), split))


def assign_splits(pairs: list[Pair], val_fraction: float, test_fraction: float, seed: int) -> dict[str, str]:
    """Name -> split for pairs without a split folder: whole images, a seeded shuffle of the sorted names.

    Each split that has a fraction gets at least one image when there are enough images.
    """
    names = sorted(p.name for p in pairs)
    order = np.random.default_rng(seed).permutation(len(names))
    n_test = max(round(test_fraction * len(names)), 1 if test_fraction > 0 and len(names) >= 3 else 0)
    n_val = max(round(val_fraction * len(names)), 1 if val_fraction > 0 and len(names) >= 3 else 0)
    splits = ["test"] * n_test + ["val"] * n_val + ["train"] * (len(names) - n_test - n_val)
    return {names[i]: split for i, split in zip(order, splits, strict=True)}
