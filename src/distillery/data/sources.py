"""Reading a user's dataset layout into ``Item`` records (path, labels, split, origin).

Three layouts, as users have them:
- ``folders``: ``<root>/<class>/**/<image>`` (single-label); or ``<root>/<split>/<class>/...``
  when the top-level folders are exactly train/val/test.
- ``csv``: a manifest with a header ``path,labels`` (labels separated by ``;``, empty = no
  label) and an optional ``split`` column.
- ``split_files``: ``train.txt``, ``val.txt``, ``test.txt``; one image per line,
  ``<path> <label;label>`` (path and labels separated by whitespace; a line with only a path
  is an image with no label; paths with spaces need the CSV layout).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from distillery.data.images import IMAGE_SUFFIXES
from distillery.errors import DataError

SPLITS = ("train", "val", "test")
LABEL_SEPARATOR = ";"


@dataclass(frozen=True)
class Item:
    path: str
    labels: tuple[str, ...]
    split: str | None
    origin: str


def detect_layout(root: Path, manifest: str) -> str:
    if (root / manifest).is_file():
        return "csv"
    if all((root / f"{split}.txt").is_file() for split in SPLITS):
        return "split_files"
    if any(child.is_dir() for child in root.iterdir()):
        return "folders"
    raise DataError(
        f"{root}: no {manifest}, no train.txt/val.txt/test.txt and no class folders; "
        "see README 'Using your own data'"
    )


def read_items(root: Path, layout: str, manifest: str) -> list[Item]:
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found; run `make data` for the demo data")
    if layout == "auto":
        layout = detect_layout(root, manifest)
    readers = {"folders": _read_folders, "csv": _read_csv, "split_files": _read_split_files}
    items = readers[layout](root, manifest)
    if not items:
        raise DataError(f"{root}: no images found (layout {layout})")
    return items


def parse_labels(text: str) -> tuple[str, ...]:
    """``"a;b"`` -> ``("a", "b")``; ``""`` -> ``()``; empty tokens are kept as ``""``."""
    text = text.strip()
    if not text:
        return ()
    return tuple(token.strip() for token in text.split(LABEL_SEPARATOR))


def _images_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _read_folders(root: Path, _manifest: str) -> list[Item]:
    tops = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if tops and {p.name for p in tops} == set(SPLITS):
        groups = [(split, c) for split in SPLITS for c in sorted((root / split).iterdir()) if c.is_dir()]
    else:
        groups = [(None, c) for c in tops]
    return [
        Item(img.relative_to(root).as_posix(), (cls.name,), split, f"folder {cls.name}/")
        for split, cls in groups
        for img in _images_under(cls)
    ]


def _read_csv(root: Path, manifest: str) -> list[Item]:
    path = root / manifest
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if not {"path", "labels"} <= columns:
            raise DataError(
                f"{path}: header must have columns 'path' and 'labels' (found: "
                f"{', '.join(sorted(columns)) or 'none'})"
            )
        has_split = "split" in columns
        items = []
        for line, row in enumerate(reader, start=2):
            split = (row.get("split") or "").strip() or None if has_split else None
            if split is not None and split not in SPLITS:
                raise DataError(f"{path}:{line}: split {split!r} must be one of {', '.join(SPLITS)}")
            labels = parse_labels(row["labels"] or "")
            items.append(Item((row["path"] or "").strip(), labels, split, f"{manifest}:{line}"))
    return items


def _read_split_files(root: Path, _manifest: str) -> list[Item]:
    items = []
    for split in SPLITS:
        path = root / f"{split}.txt"
        if not path.is_file():
            raise DataError(f"{path}: missing; split_files layout needs train.txt, val.txt, test.txt")
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split(maxsplit=1)
            labels = parse_labels(fields[1]) if len(fields) > 1 else ()
            items.append(Item(fields[0], labels, split, f"{split}.txt:{line_no}"))
    return items
