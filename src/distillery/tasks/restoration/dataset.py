"""The prepared restoration store as every stage reads it: whole images, crops, and tiles.

``<prepared>/``
  ``index.json``                each image's split, shape, offset, content hashes and source files; the
                                tiles the models take and the training crop size (``restoration.*``)
  ``clean.u8``, ``degraded.u8`` the images as raw uint8 H x W x 3 arrays back to back, at the same offsets
  ``test/<name>.png``           the test split's degraded inputs, for export's parity check

``RestorationDataset`` is the store as the shared stages read it (``distillery.tasks.base.TaskData``):
val and test as the tiles the exported models take (``restoration.tiles``, recorded at prepare), with
the clean tiles as targets; train as random crops (``restoration.data.crop_size``), as many per epoch
as it takes to cover the training pixels once. Writing the store is ``store.py``'s (the prepare stage).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distillery.data.prepared import PreparedSplit
from distillery.errors import DataError
from distillery.tasks.restoration.tiling import assemble, cut_tiles

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
              rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Endless batches of (degraded, clean) uint8 N x crop x crop x 3 crops: a random image (weighted by
        its area, so every pixel is equally likely), a random window, a random flip and 90-degree turn."""
        images = self.split(split)
        if not images:
            raise DataError(f"{self.path}: the {split} split holds no image")
        areas = np.array([img.height * img.width for img in images], dtype=np.float64)
        while True:
            chosen = rng.choice(len(images), size=batch, p=areas / areas.sum())
            pairs = [self._random_crop(images[i], crop, rng) for i in chosen]
            yield np.stack([d for d, _ in pairs]), np.stack([c for _, c in pairs])

    def _random_crop(self, image: StoredImage, crop: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        top, left = int(rng.integers(image.height - crop + 1)), int(rng.integers(image.width - crop + 1))
        turns, flip = int(rng.integers(4)), bool(rng.integers(2))
        out = []
        for array in (self.degraded(image), self.clean(image)):
            window = np.rot90(array[top:top + crop, left:left + crop], turns)
            out.append(np.ascontiguousarray(window[:, ::-1] if flip else window))
        return out[0], out[1]


@dataclass(frozen=True)
class TileGeometry:
    """The exported models' input: ``size`` x ``size`` tiles overlapping by ``overlap`` pixels."""

    size: int
    overlap: int


@dataclass(frozen=True)
class TiledImages:
    """Where each image's tiles sit in a split's tile array."""

    images: list[StoredImage]
    origins: list[list[tuple[int, int]]]
    starts: list[int]  # index of each image's first tile


@dataclass(frozen=True)
class CropSplit:
    """Training: random crops, ``len()`` of them per epoch; ``images``: train tiles (quantization's calibration)."""

    name: str
    store: RestorationStore
    crop: int
    images: np.ndarray
    labels: np.ndarray
    crops_per_epoch: int

    def __len__(self) -> int:
        return self.crops_per_epoch

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0) -> Iterator[tuple[np.ndarray, ...]]:
        """``len()`` random crops in batches, seeded (``shuffle`` is moot: every batch is a fresh draw)."""
        crops = self.store.crops(self.name, self.crop, batch_size, np.random.default_rng(seed))
        for start in range(0, len(self), batch_size):
            degraded, clean = next(crops)
            count = min(batch_size, len(self) - start)
            yield np.arange(start, start + count), degraded[:count], clean[:count]


@dataclass
class RestorationDataset:
    """The prepared store as the shared stages read it (``TaskData``)."""

    store: RestorationStore
    task: str = "restoration"
    labels: list[str] = field(default_factory=list)
    _splits: dict[str, PreparedSplit | CropSplit] = field(default_factory=dict)
    _tiled: dict[str, TiledImages] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> RestorationDataset:
        return cls(RestorationStore(path))

    @property
    def letterbox(self) -> TileGeometry:
        return TileGeometry(**self.store.meta["tiles"])

    @property
    def manifest(self) -> dict[str, Any]:
        return {"fingerprint": self.store.meta["fingerprint"], "letterbox": self.store.meta["tiles"],
                "degradation": self.store.meta["degradation"]}

    def split(self, name: str) -> PreparedSplit | CropSplit:
        if name not in self._splits:
            degraded, clean = self._tile_split(name)
            if name == "train":
                crop = self.store.meta["crop_size"]
                pixels = sum(img.height * img.width for img in self.store.split(name))
                self._splits[name] = CropSplit(name, self.store, crop, degraded, clean, math.ceil(pixels / crop**2))
            else:
                self._splits[name] = PreparedSplit(name, degraded, clean)
        return self._splits[name]

    def tiled(self, name: str) -> TiledImages:
        if name not in self._tiled:
            self._tile_split(name)
        return self._tiled[name]

    def _tile_split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        geometry = self.letterbox
        images, origins, starts, degraded, clean = self.store.split(name), [], [], [], []
        for image in images:
            starts.append(sum(len(d) for d in degraded))
            tiles, where = cut_tiles(self.store.degraded(image), geometry.size, geometry.overlap)
            degraded.append(tiles)
            clean.append(cut_tiles(self.store.clean(image), geometry.size, geometry.overlap)[0])
            origins.append(where)
        self._tiled[name] = TiledImages(images, origins, starts)
        empty = np.zeros((0, geometry.size, geometry.size, 3), dtype=np.uint8)
        return (np.concatenate(degraded) if degraded else empty), (np.concatenate(clean) if clean else empty)

    def restored_images(self, name: str, outputs: np.ndarray) -> list[np.ndarray]:
        """The split's whole images from the model's outputs on its tiles (in ``split(name).images`` order)."""
        tiled, overlap = self.tiled(name), self.letterbox.overlap
        return [assemble(outputs[start:start + len(where)], where, image.height, image.width, overlap)
                for image, where, start in zip(tiled.images, tiled.origins, tiled.starts, strict=True)]
