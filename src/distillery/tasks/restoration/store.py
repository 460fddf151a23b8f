"""The prepared restoration store: full-resolution image pairs, checked, deduplicated, split.

Images keep their native resolution (training takes random crops, evaluation runs on whole images),
so they are stored as raw uint8 H x W x 3 arrays back to back, in ``clean.u8`` and ``degraded.u8`` at
the same offsets, read through memory maps; ``index.json`` lists each image's split, shape, offset,
content hashes and source files. The test split's degraded inputs are also kept as PNG files
(``test/<name>.png``): export's parity check runs the bundle's predict.py on them without the raw data.
Reading the store is ``dataset.py``'s.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from distillery import atomic
from distillery.config import RestorationData, TilesConfig
from distillery.data.images import ImageProblem, decode_rgb
from distillery.data.sources import SPLITS, shown
from distillery.data.validate import Problem, Report
from distillery.errors import DataError
from distillery.tasks.restoration.dataset import (
    CLEAN_FILE,
    DEGRADED_FILE,
    FORMAT,
    INDEX,
    TEST_INPUTS,
    StoredImage,
    parity_input_name,
)
from distillery.tasks.restoration.degrade import degrade, describe
from distillery.tasks.restoration.sources import Pair, assign_splits, read_pairs


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


def prepare_store(cfg: RestorationData, tiles: TilesConfig, raw: Path, out: Path, seed: int) -> dict[str, Any]:
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
    index = write_store(out, loaded, splits, cfg, tiles, listing.layout)
    return {"images": {s: sum(img.split == s for img in index) for s in SPLITS}, "dropped": report.counts(),
            "layout": listing.layout, "megapixels": round(sum(img.height * img.width for img in index) / 1e6, 3),
            "skipped": listing.skipped, "problems": report.to_json()["dropped"]}


def write_store(out: Path, loaded: list[_Loaded], splits: dict[str, str], cfg: RestorationData, tiles: TilesConfig,
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
        images = [asdict(img) for img in index]
        meta = {"format": FORMAT, "layout": layout,
                "degradation": describe(cfg.degradation) if layout == "clean" else "given (pairs)",
                "noise_sigma": cfg.degradation.noise_sigma if layout == "clean" else None,
                "crop_size": cfg.crop_size, "tiles": asdict(tiles),
                "fingerprint": hashlib.sha256(json.dumps(images, sort_keys=True).encode()).hexdigest()[:16],
                "images": images}
        atomic.write_json(tmp / INDEX, meta)
    return index


