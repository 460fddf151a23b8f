"""Reading a user's dataset layout into ``Item`` records (path, labels, split, origin).

Three layouts, as users have them:
- ``folders``: ``<root>/<class>/**/<image>`` (single-label); or ``<root>/<split>/<class>/...``
  when the top-level folders are exactly train/val/test, or train/val (then ``data.test_fraction``
  of train/ becomes the test split). Split folders beside other folders are an error: the layout
  would be ambiguous. Hidden entries, symbolic links, non-image files, folders without images
  and anything that is not a regular file are skipped and listed (``Listing.skipped``).
- ``csv``: a manifest with a header ``path,labels`` (labels separated by ``;``, empty = no
  label) and an optional ``split`` column.
- ``split_files``: ``train.txt``, ``val.txt``, ``test.txt``; one image per line,
  ``<path> <label;label>`` (path and labels separated by whitespace; a line with only a path
  is an image with no label; paths with spaces need the CSV layout).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from distillery.data.images import IMAGE_SUFFIXES
from distillery.errors import DataError

SPLITS = ("train", "val", "test")
SPLIT_FOLDER_SETS = ({"train", "val", "test"}, {"train", "val"})
LABEL_SEPARATOR = ";"


def shown(name: str) -> str:
    """A file or label name safe to print on one line: quoted and escaped when it holds control characters."""
    return name if name.isprintable() else repr(name)


@dataclass(frozen=True)
class Item:
    path: str
    labels: tuple[str, ...]
    split: str | None
    origin: str


@dataclass
class Listing:
    """What a layout declares: the items, and what was skipped (one line each, for the log and the record)."""

    items: list[Item]
    skipped: list[str] = field(default_factory=list)
    layout: str = ""  # the layout read (``data.layout``, or the one ``auto`` found)


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


def read_items(root: Path, layout: str, manifest: str) -> Listing:
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found; run `make data` for the demo data")
    if layout == "auto":
        layout = detect_layout(root, manifest)
    readers = {"folders": _read_folders, "csv": _read_csv, "split_files": _read_split_files}
    listing = replace(readers[layout](root, manifest), layout=layout)
    if not listing.items:
        raise DataError(f"{root}: no images found (layout {layout})")
    return listing


def parse_labels(text: str) -> tuple[str, ...]:
    """``"a;b"`` -> ``("a", "b")``; ``""`` -> ``()``; empty tokens are kept as ``""``."""
    text = text.strip()
    if not text:
        return ()
    return tuple(token.strip() for token in text.split(LABEL_SEPARATOR))


def _images_under(folder: Path, root: Path, skipped: list[str]) -> list[Path]:
    """Regular image files below ``folder``; every other entry goes to ``skipped`` with the reason."""
    images = []
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        for name in sorted(dirs):
            path = here / name
            reason = "hidden folder" if name.startswith(".") else "symbolic link" if path.is_symlink() else None
            if reason:
                skipped.append(f"{shown(path.relative_to(root).as_posix())}/ ({reason})")
                dirs.remove(name)
        for name in files:
            path = here / name
            rel = shown(path.relative_to(root).as_posix())
            if name.startswith("."):
                skipped.append(f"{rel} (hidden file)")
            elif path.is_symlink() or not path.is_file():
                skipped.append(f"{rel} ({'symbolic link' if path.is_symlink() else 'not a regular file'})")
            elif path.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(f"{rel} (not an image suffix: {', '.join(IMAGE_SUFFIXES)})")
            else:
                images.append(path)
    return sorted(images)


def _visible_folders(folder: Path, root: Path, skipped: list[str]) -> list[Path]:
    children = []
    for child in sorted(folder.iterdir()):
        rel = shown(child.relative_to(root).as_posix())
        if child.name.startswith("."):
            skipped.append(f"{rel}{'/' if child.is_dir() else ''} (hidden)")
        elif child.is_symlink():
            skipped.append(f"{rel} (symbolic link)")
        elif child.is_dir():
            children.append(child)
    return children


def _split_groups(root: Path, tops: list[Path], skipped: list[str]) -> list[tuple[str | None, Path]]:
    names = {p.name for p in tops}
    splits = names & set(SPLITS)
    if not splits:
        return [(None, c) for c in tops]
    if names in SPLIT_FOLDER_SETS:
        return [(split, c) for split in SPLITS if split in names
                for c in _visible_folders(root / split, root, skipped)]
    others = sorted(names - set(SPLITS))
    found = ", ".join(f"{n}/" for n in sorted(splits)) + (f" beside {', '.join(shown(n) + '/' for n in others)}"
                                                          if others else " alone")
    raise DataError(
        f"{root}: found split folder(s) {found}; a folder layout is either class folders (<root>/<class>/...) "
        "or split folders (<root>/train/<class>/..., <root>/val/<class>/..., and optionally <root>/test/<class>/...), "
        "not both: move the other folders into the splits, or the splits' classes up"
    )


def _read_folders(root: Path, _manifest: str) -> Listing:
    skipped: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.is_file() and not entry.is_symlink() and entry.suffix.lower() in IMAGE_SUFFIXES:
            skipped.append(f"{shown(entry.name)} (an image outside any class folder)")
    items = []
    for split, cls in _split_groups(root, _visible_folders(root, root, skipped), skipped):
        images = _images_under(cls, root, skipped)
        if not images:
            skipped.append(f"{shown(cls.relative_to(root).as_posix())}/ (a class folder without images)")
        items += [Item(img.relative_to(root).as_posix(), (cls.name,), split, f"folder {shown(cls.name)}/")
                  for img in images]
    return Listing(items, skipped)


def _read_text(path: Path) -> str:
    """A UTF-8 text file (a byte-order mark is dropped), or a ``DataError`` saying where it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 (byte {data[exc.start]:#04x}); save the file as UTF-8") from None


def _read_csv(root: Path, manifest: str) -> Listing:
    path = root / manifest
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
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
    return Listing(items)


def _read_split_files(root: Path, _manifest: str) -> Listing:
    items = []
    for split in SPLITS:
        path = root / f"{split}.txt"
        if not path.is_file():
            raise DataError(f"{path}: missing; split_files layout needs train.txt, val.txt, test.txt")
        for line_no, line in enumerate(_read_text(path).split("\n"), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split(maxsplit=1)
            labels = parse_labels(fields[1]) if len(fields) > 1 else ()
            items.append(Item(fields[0], labels, split, f"{split}.txt:{line_no}"))
    return Listing(items)
