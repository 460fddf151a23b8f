"""The demo dataset: real handwritten digit scans composed into a multi-label image task.

scikit-learn bundles 1,797 real 8x8 scans of handwritten digits. Each demo image is 64x64 RGB
with one to three of them at random positions and scales, in random colours, over a noisy
gradient background; its labels are the digits it shows. Every source scan belongs to exactly
one split, so no val/test pixel was ever seen in training. Written as PNG files plus
``manifest.csv`` (path, labels, split), exactly the way a user's dataset would look.

Run ``python -m distillery.data.demo --out data/raw`` (``--layout folders`` for the
single-label class-folder variant).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from distillery.atomic import atomic_dir

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DemoSpec:
    counts: tuple[int, int, int] = (8000, 1000, 1000)
    size: int = 64
    max_digits: int = 3
    scale_range: tuple[int, int] = (18, 32)
    seed: int = 0
    clean: bool = False  # plain grey background, white-or-black digits: an easy source task


def _clean_background(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.full((size, size, 3), rng.uniform(0, 255), dtype=np.float64) + rng.normal(0, 2, (size, size, 3))


def _clean_colour(background: np.ndarray) -> np.ndarray:
    return np.full(3, 0.0 if background.mean() > 127 else 255.0)


def load_scans() -> tuple[np.ndarray, np.ndarray]:
    """The bundled scans as float masks in [0, 1], shape (n, 8, 8), and their digits."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.float32) / 16.0, digits.target.astype(np.int64)


def split_scans(targets: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Assign every scan to one split (80/10/10 per digit), deterministically."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {name: [] for name in SPLITS}
    for digit in np.unique(targets):
        idx = rng.permutation(np.flatnonzero(targets == digit))
        n_val = n_test = round(0.1 * len(idx))
        parts["val"] += idx[:n_val].tolist()
        parts["test"] += idx[n_val : n_val + n_test].tolist()
        parts["train"] += idx[n_val + n_test :].tolist()
    return {name: np.array(sorted(v)) for name, v in parts.items()}


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(0, 255, size=3)
    direction = rng.normal(size=2)
    ramp = np.linspace(-1, 1, size)
    grad = direction[0] * ramp[None, :] + direction[1] * ramp[:, None]
    amplitude = rng.uniform(0, 60)
    img = base[None, None, :] + amplitude * grad[:, :, None]
    img += rng.normal(0, rng.uniform(2, 14), size=(size, size, 3))
    return img


def _contrasting_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    mean = background.reshape(-1, 3).mean(axis=0)
    for _ in range(20):
        colour = rng.uniform(0, 255, size=3)
        if np.abs(colour - mean).sum() > 200:
            return colour
    return 255.0 - mean


def _place(rng: np.random.Generator, size: int, side: int, taken: list[tuple[int, int, int]]):
    """A top-left corner for a ``side`` square that overlaps earlier digits by < 25%."""
    best = (0, 0)
    for _ in range(30):
        x, y = (int(v) for v in rng.integers(0, size - side + 1, size=2))
        best = (x, y)
        overlaps = [
            max(0, min(x + side, tx + ts) - max(x, tx)) * max(0, min(y + side, ty + ts) - max(y, ty))
            for tx, ty, ts in taken
        ]
        if all(o < 0.25 * side * side for o in overlaps):
            break
    return best


def render_image(
    rng: np.random.Generator, scans: np.ndarray, targets: np.ndarray, pool: np.ndarray,
    spec: DemoSpec, n_digits: int,
) -> tuple[np.ndarray, list[str]]:
    img = _clean_background(rng, spec.size) if spec.clean else _background(rng, spec.size)
    taken: list[tuple[int, int, int]] = []
    labels: set[str] = set()
    for scan_idx in rng.choice(pool, size=n_digits, replace=False):
        side = int(rng.integers(spec.scale_range[0], spec.scale_range[1] + 1))
        mask = Image.fromarray((scans[scan_idx] * 255).astype(np.uint8)).resize(
            (side, side), Image.Resampling.BICUBIC
        )
        alpha = np.asarray(mask, dtype=np.float32)[:, :, None] / 255.0
        x, y = _place(rng, spec.size, side, taken)
        taken.append((x, y, side))
        colour = _clean_colour(img) if spec.clean else _contrasting_colour(rng, img)
        region = img[y : y + side, x : x + side]
        img[y : y + side, x : x + side] = region * (1 - alpha) + colour * alpha
        labels.add(str(int(targets[scan_idx])))
    return np.clip(img, 0, 255).astype(np.uint8), sorted(labels)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_multilabel(out: Path, spec: DemoSpec) -> int:
    """Write the multi-label demo (PNG files + manifest.csv) into ``out``; return image count."""
    scans, targets = load_scans()
    pools = split_scans(targets, spec.seed)
    rows = []
    with atomic_dir(out) as tmp:
        for split, count in zip(SPLITS, spec.counts, strict=True):
            rng = np.random.default_rng([spec.seed, SPLITS.index(split)])
            (tmp / "images" / split).mkdir(parents=True)
            for i in tqdm(range(count), desc=f"demo {split}", unit="img", leave=False):
                n_digits = int(rng.integers(1, spec.max_digits + 1))
                pixels, labels = render_image(rng, scans, targets, pools[split], spec, n_digits)
                rel = f"images/{split}/{split}_{i:05d}.png"
                (tmp / rel).write_bytes(png_bytes(pixels))
                rows.append((rel, ";".join(labels), split))
        with open(tmp / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "labels", "split"])
            writer.writerows(rows)
    return len(rows)


def write_folders(out: Path, spec: DemoSpec) -> int:
    """Write the single-label variant: ``out/<digit>/<n>.png``, one digit per image."""
    scans, targets = load_scans()
    rng = np.random.default_rng(spec.seed)
    total = sum(spec.counts)
    with atomic_dir(out) as tmp:
        for i in tqdm(range(total), desc="demo folders", unit="img", leave=False):
            pixels, labels = render_image(rng, scans, targets, np.arange(len(targets)), spec, 1)
            folder = tmp / labels[0]
            folder.mkdir(exist_ok=True)
            (folder / f"{i:05d}.png").write_bytes(png_bytes(pixels))
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/raw"))
    parser.add_argument("--layout", choices=("csv", "folders"), default="csv")
    parser.add_argument("--counts", type=int, nargs=3, default=DemoSpec.counts,
                        metavar=("TRAIN", "VAL", "TEST"))
    parser.add_argument("--seed", type=int, default=DemoSpec.seed)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = DemoSpec(counts=tuple(args.counts), seed=args.seed)
    writer = write_multilabel if args.layout == "csv" else write_folders
    count = writer(args.out, spec)
    log.info("wrote %d demo images (%s layout) to %s", count, args.layout, args.out)


if __name__ == "__main__":
    main()
