"""The prepared format: what the prepare stage writes and every later stage reads.

``<prepared>/``
  ``manifest.json``       task, labels, letterbox, fingerprint, per-split counts
  ``labels.txt``          the label vocabulary, sorted, one per line
  ``samples.csv``         split, path, labels, sha256 of every kept image (source lineage)
  ``report.json``         every dropped item and why
  ``<split>_images.npy``  uint8 (N, S, S, 3), letterboxed RGB, memory-mapped when read
  ``<split>_labels.npy``  uint8 (N, C), one-hot (single-label) or multi-hot rows
  ``test_files.tar``      the test split's original files, byte for byte, in ``samples.csv`` order:
                          export's parity check decodes them with the bundle's own code, so export
                          depends on this store and not on where the raw folder lives
"""

from __future__ import annotations

import contextlib
import json
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from distillery.data.letterbox import Letterbox
from distillery.errors import DataError

MANIFEST = "manifest.json"
LABELS = "labels.txt"
SAMPLES = "samples.csv"
REPORT = "report.json"
TEST_FILES = "test_files.tar"


def images_file(root: Path, split: str) -> Path:
    return root / f"{split}_images.npy"


def labels_file(root: Path, split: str) -> Path:
    return root / f"{split}_labels.npy"


@dataclass(frozen=True)
class PreparedSplit:
    name: str
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def batches(
        self, batch_size: int, shuffle: bool = False, seed: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (indices, uint8 images, label rows) batches; shuffled with ``seed`` if asked.

        Indices are sorted inside each batch so reads from the memory map stay sequential.
        """
        order = np.random.default_rng(seed).permutation(len(self)) if shuffle else np.arange(len(self))
        for start in range(0, len(order), batch_size):
            idx = np.sort(order[start : start + batch_size])
            yield idx, self.images[idx], self.labels[idx]


@dataclass(frozen=True)
class PreparedDataset:
    root: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, root: str | Path) -> PreparedDataset:
        root = Path(root)
        try:
            manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{root / MANIFEST}: not found; run `dvc repro prepare` first") from None
        return cls(root, manifest)

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def labels(self) -> list[str]:
        return self.manifest["labels"]

    @cached_property
    def letterbox(self) -> Letterbox:
        spec = self.manifest["letterbox"]
        return Letterbox(spec["size"], spec["pad_value"])

    @contextlib.contextmanager
    def test_files(self) -> Iterator[list[Path]]:
        """The test split's original files, unpacked into a temporary folder, in the test arrays' order."""
        archive_path = self.root / TEST_FILES
        if not archive_path.is_file():
            raise DataError(f"{archive_path}: not found; this store predates it: `dvc repro prepare`")
        with tempfile.TemporaryDirectory(prefix="test-files-") as folder, tarfile.open(archive_path) as archive:
            yield [_extract_file(archive, member, Path(folder)) for member in archive.getmembers()]

    def split(self, name: str) -> PreparedSplit:
        images = np.load(images_file(self.root, name), mmap_mode="r")
        labels = np.load(labels_file(self.root, name))
        return PreparedSplit(name, images, labels)


def _extract_file(archive: tarfile.TarFile, member: tarfile.TarInfo, folder: Path) -> Path:
    """One regular file of the archive under ``folder``, by the relative name prepare gave it; any
    other entry is refused. By hand rather than ``extractall(filter="data")``, which Python 3.11
    gained only in 3.11.4 (Debian 12 ships 3.11.2)."""
    parts = PurePosixPath(member.name).parts
    if not member.isfile() or not parts or member.name.startswith("/") or {".", ".."} & set(parts):
        raise DataError(f"{archive.name}: entry {member.name!r} is not a file of the dataset; "
                        "rebuild the store with `dvc repro -f prepare`")
    target = folder.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.extractfile(member) as source:
        target.write_bytes(source.read())
    return target
