"""Real photos that ship with scikit-image (no download), for the restoration demo and its pretraining.

The demo denoises colour photos: test astronaut and chelsea (the restoration issue's calibration
pair), val coffee, train rocket, immunohistochemistry, the Hubble deep field and the left view of the
stereo motorcycle. Its demo pretrained weights learn on *other* pictures only: the grey-level photos
and textures (camera, moon, brick, grass, gravel, coins, cell, clock, page), each given a seeded
colour tint so the network sees colour, and the colour retina and colour wheel. None of the demo's
photos, in any split, is in the pretraining set.

    python -m distillery.tasks.restoration.photos --out demos/restoration/data/raw
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from distillery import atomic

DEMO_SPLITS = {"train": ("rocket", "immunohistochemistry", "hubble_deep_field", "stereo_motorcycle"),
               "val": ("coffee",), "test": ("astronaut", "chelsea")}
PRETRAINING_SPLITS = {"train": ("camera", "moon", "brick", "grass", "gravel", "coins", "cell", "retina"),
                      "val": ("clock", "colorwheel"), "test": ("page",)}
TINT = (0.55, 1.0)  # per-channel gain range of a grey photo's seeded tint


def photo(name: str, seed: int = 0) -> np.ndarray:
    """scikit-image's ``name`` as H x W x 3 uint8: grey ones tinted (seeded by name), retina at half size."""
    import skimage.data

    image = getattr(skimage.data, name)()
    if name == "stereo_motorcycle":
        image = image[0]  # (left, right, disparity)
    if name == "retina":
        image = image[::2, ::2]  # 1411 px of mostly dark fundus: half keeps the vessels, quarters the cost
    if image.ndim == 2:
        rng = np.random.default_rng([seed, *name.encode()])
        gains = rng.uniform(*TINT, size=3)
        image = np.clip(image[..., None].astype(np.float32) * gains, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., :3])


def write_photos(raw: Path, splits: dict[str, tuple[str, ...]] = DEMO_SPLITS) -> None:
    """``raw/<split>/clean/<name>.png``: the clean-only layout, degraded by params at prepare."""
    from PIL import Image

    for split, names in splits.items():
        for name in names:
            with atomic.atomic_path(raw / split / "clean" / f"{name}.png") as tmp:
                Image.fromarray(photo(name)).save(tmp, format="PNG")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distillery.tasks.restoration.photos",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the raw folder to write (clean layout)")
    parser.add_argument("--pretraining", action="store_true", help="the pretraining photos instead of the demo's")
    args = parser.parse_args(argv)
    write_photos(args.out, PRETRAINING_SPLITS if args.pretraining else DEMO_SPLITS)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
