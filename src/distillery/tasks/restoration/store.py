"""The prepared restoration store: full-resolution image pairs, checked, deduplicated, split.

Images keep their native resolution (training takes random crops, evaluation runs on whole images),
so they are stored as raw uint8 H x W x 3 arrays back to back, in ``clean.u8`` and ``degraded.u8`` at
the same offsets, read through memory maps; ``index.json`` lists each image's split, shape, offset,
content hashes and source files. The test split's degraded inputs are also kept as PNG files
(``test/<name>.png``): export's parity check runs the bundle's predict.py on them without the raw data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from distillery import atomic
from distillery.data.images import ImageProblem, decode_rgb
from distillery.data.sources import SPLITS, shown
from distillery.data.validate import Problem, Report
from distillery.errors import DataError
from distillery.tasks.restoration.config import RestorationData
from distillery.tasks.restoration.degrade import degrade, describe
from distillery.tasks.restoration.sources import Pair, assign_splits, read_pairs

FORMAT = 1
INDEX, CLEAN_FILE, DEGRADED_FILE, TEST_INPUTS = "index.json", "clean.u8", "degraded.u8", "test"


@dataclass(frozen=True)
class StoredImage:
    name: str
    split: str
    height: int
    width: int
    offset: int
    clean_sha256: str
    degraded_sha256: str
    clean: str  # source files, relative to the raw folder
    degraded: str | None

    @property
    def nbytes(self) -> int:
        return self.height * self.width * 3


@dataclass(frozen=True)
class _Loaded:
    pair: Pair
    clean: np.ndarray
    degraded: np.ndarray
    clean_sha256: str


def _decode(root: Path, rel: str, max_pixels: int) -> np.ndarray:
    try:
        return np.asarray(decode_rgb(root / rel, max_pixels))
    except ImageProblem as exc:
        raise _Unusable(Problem("unreadable", rel, str(exc), "decode")) from None


class _Unusable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.line())
        self.problem = problem


def load_pair(root: Path, pair: Pair, cfg: RestorationData, seed: int) -> _Loaded:
    """Decode, check sizes, and make the degraded input when the layout has none; ``_Unusable`` otherwise."""
    clean = _decode(root, pair.clean, cfg.max_pixels)
    height, width = clean.shape[:2]
    if min(height, width) < cfg.crop_size:
        detail = f"{width}x{height} is smaller than data.crop_size={cfg.crop_size}"
        raise _Unusable(Problem("too_small", pair.clean, detail, "size"))
    if pair.degraded is None:
        degraded = degrade(clean, cfg.degradation, seed, pair.name)
    else:
        degraded = _decode(root, pair.degraded, cfg.max_pixels)
        if degraded.shape != clean.shape:
            detail = (f"{degraded.shape[1]}x{degraded.shape[0]} but its partner {shown(pair.clean)} is "
                      f"{width}x{height}")
            raise _Unusable(Problem("size_mismatch", pair.degraded, detail, "pairs"))
    return _Loaded(pair, clean, degraded, hashlib.sha256(clean.tobytes()).hexdigest())


def check_pairs(root: Path, pairs: list[Pair], splits: dict[str, str], cfg: RestorationData, seed: int,
                report: Report) -> list[_Loaded]:
    """Every usable pair, train's first, then by name; the rest go to ``report``. Of images with the same
    clean pixels the first is kept, so a copy in val or test is the one dropped, never the training one."""
    kept: list[_Loaded] = []
    first_seen: dict[str, _Loaded] = {}
    for pair in sorted(pairs, key=lambda p: (SPLITS.index(splits[p.name]), p.name)):
        try:
            loaded = load_pair(root, pair, cfg, seed)
        except _Unusable as exc:
            report.add(exc.problem)
            continue
        earlier = first_seen.get(loaded.clean_sha256)
        if earlier is not None:
            same_split = splits[earlier.pair.name] == splits[pair.name]
            kind = "duplicate" if same_split else "cross_split_duplicate"
            detail = f"same pixels as {shown(earlier.pair.clean)} ({splits[earlier.pair.name]})"
            report.add(Problem(kind, pair.clean, f"{detail} in {splits[pair.name]}", "content"))
            continue
        first_seen[loaded.clean_sha256] = loaded
        kept.append(loaded)
    return kept


def prepare_store(cfg: RestorationData, raw: Path, out: Path, seed: int) -> dict[str, Any]:
    """Read, check and split ``raw``, then write the store to ``out`` atomically; returns the metrics."""
    listing = read_pairs(raw, cfg.layout)
    report = Report(cfg.on_problem)
    for problem in listing.problems:
        report.add(problem)
    splits = {p.name: p.split for p in listing.pairs if p.split}
    if len(splits) < len(listing.pairs):
        splits = assign_splits(listing.pairs, cfg.val_fraction, cfg.test_fraction, seed)
    loaded = check_pairs(raw, listing.pairs, splits, cfg, seed, report)
    report.raise_if_errors(raw)
    missing = [s for s in SPLITS if not any(splits[x.pair.name] == s for x in loaded)]
    if missing:
        raise DataError(f"{raw}: no usable image in the {', '.join(missing)} split(s) ({len(loaded)} usable in all); "
                        "add images, or change data.val_fraction / data.test_fraction")
    index = write_store(out, loaded, splits, cfg, listing.layout)
    counts = {s: sum(img.split == s for img in index) for s in SPLITS}
    return {"images": len(index), **{f"{s}_images": n for s, n in counts.items()},
            "dropped": len(report.dropped), "layout": listing.layout,
            "pixels": int(sum(img.height * img.width for img in index))}


def write_store(out: Path, loaded: list[_Loaded], splits: dict[str, str], cfg: RestorationData,
                layout: str) -> list[StoredImage]:
    index: list[StoredImage] = []
    with atomic.atomic_dir(out) as tmp:
        (tmp / TEST_INPUTS).mkdir()
        with open(tmp / CLEAN_FILE, "wb") as clean_file, open(tmp / DEGRADED_FILE, "wb") as degraded_file:
            offset = 0
            for item in loaded:
                height, width = item.clean.shape[:2]
                clean_file.write(item.clean.tobytes())
                degraded_file.write(item.degraded.tobytes())
                stored = StoredImage(item.pair.name, splits[item.pair.name], height, width, offset,
                                     item.clean_sha256, hashlib.sha256(item.degraded.tobytes()).hexdigest(),
                                     item.pair.clean, item.pair.degraded)
                if stored.split == "test":
                    Image.fromarray(item.degraded).save(tmp / TEST_INPUTS / parity_input_name(stored))
                index.append(stored)
                offset += stored.nbytes
        meta = {"format": FORMAT, "layout": layout,
                "degradation": describe(cfg.degradation) if layout == "clean" else "given (pairs)",
                "images": [asdict(img) for img in index]}
        atomic.write_json(tmp / INDEX, meta)
    return index


def parity_input_name(image: StoredImage) -> str:
    return f"{image.name.rsplit('/', 1)[-1]}.png"


class RestorationStore:
    """Read access to a prepared store: whole images by split, and seeded random training crops."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            meta = json.loads((self.path / INDEX).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{self.path / INDEX}: not found; run `dvc repro prepare` first") from None
        if meta.get("format") != FORMAT:
            raise DataError(f"{self.path}: store format {meta.get('format')!r}, expected {FORMAT}; rerun prepare")
        self.meta = meta
        self.images = [StoredImage(**img) for img in meta["images"]]
        self._clean = np.memmap(self.path / CLEAN_FILE, dtype=np.uint8, mode="r")
        self._degraded = np.memmap(self.path / DEGRADED_FILE, dtype=np.uint8, mode="r")

    def split(self, name: str) -> list[StoredImage]:
        return [img for img in self.images if img.split == name]

    def clean(self, image: StoredImage) -> np.ndarray:
        return self._view(self._clean, image)

    def degraded(self, image: StoredImage) -> np.ndarray:
        return self._view(self._degraded, image)

    @staticmethod
    def _view(data: np.memmap, image: StoredImage) -> np.ndarray:
        return data[image.offset:image.offset + image.nbytes].reshape(image.height, image.width, 3)

    def crops(self, split: str, crop: int, batch: int,
              generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless batches of (degraded, clean) crops in [0, 1], NCHW: a random image (weighted by its
        area, so every pixel is equally likely), a random window, a random flip and 90-degree turn."""
        images = self.split(split)
        if not images:
            raise DataError(f"{self.path}: the {split} split holds no image")
        weights = torch.tensor([img.height * img.width for img in images], dtype=torch.float64)
        while True:
            pairs = [self._random_crop(images[int(i)], crop, generator)
                     for i in torch.multinomial(weights, batch, replacement=True, generator=generator)]
            degraded, clean = (torch.stack(side).float().div_(255) for side in zip(*pairs, strict=True))
            yield degraded, clean

    def _random_crop(self, image: StoredImage, crop: int,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        top = int(torch.randint(image.height - crop + 1, (), generator=generator))
        left = int(torch.randint(image.width - crop + 1, (), generator=generator))
        turns, flip = (int(v) for v in torch.randint(0, 4, (2,), generator=generator))
        out = []
        for array in (self.degraded(image), self.clean(image)):
            window = torch.from_numpy(np.array(array[top:top + crop, left:left + crop])).permute(2, 0, 1)
            window = torch.rot90(window, turns, dims=(1, 2))
            out.append(window.flip(2) if flip % 2 else window)
        return out[0], out[1]
