"""Restore image files of any size with an exported distillery restoration bundle, as an app would.

Needs only the bundle folder, ai-edge-litert, numpy and Pillow (onnxruntime for ``--backend onnx``)::

    python models/export/predict.py models/export noisy.png --out restored/

Before anything is loaded, every file of the bundle is checked against its ``SHA256SUMS``. Steps,
all documented in the bundle's inference_config.json: decode (the bundle's ``pixels.py``: EXIF
orientation, 8-bit RGB, a pixel limit) -> cut into overlapping tiles of the model's fixed size (the
bundle's ``tiling.py``) -> normalise -> quantize the input -> run the model -> dequantize -> blend
the tiles -> 8-bit PNG. The export stage runs this very file from the bundle to check parity with
the pipeline. Exit code: 0 when every image was restored, 1 when any could not be, 2 when the
bundle itself is unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bundle's own bundle_tools.py
from bundle_tools import BundleError, BundleModel, load_bundle_module, read_config, verify_checksums  # noqa: E402

REQUIRED_KEYS = ("tiles", "normalization", "models", "max_pixels", "value_range")


class Bundle:
    def __init__(self, folder: str | Path, backend: str = "tflite") -> None:
        self.folder = Path(folder)
        verify_checksums(self.folder)
        self.config = read_config(self.folder, REQUIRED_KEYS)
        self.pixels = load_bundle_module(self.folder, "pixels")
        self.tiling = load_bundle_module(self.folder, "tiling")
        self.model = BundleModel(self.folder / self.config["models"][backend]["file"], backend)

    def restore_array(self, image: np.ndarray) -> np.ndarray:
        """H x W x 3 uint8 -> the restored H x W x 3 uint8, tile by tile."""
        tiles = self.config["tiles"]
        norm = self.config["normalization"]
        scale, shift = np.asarray(norm["scale"], np.float32), np.asarray(norm["shift"], np.float32)

        def run_normalised(pixels: np.ndarray) -> np.ndarray:
            return self.model(pixels * scale.reshape(1, 3, 1, 1) + shift.reshape(1, 3, 1, 1))

        return self.tiling.restore_tiled(image, run_normalised, tiles["size"], tiles["overlap"])

    def restore(self, path: str | Path) -> np.ndarray:
        image = self.pixels.decode(path, self.config["max_pixels"], "the bundle's max_pixels")
        return self.restore_array(np.asarray(image))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the exported folder (models/export)")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--out", default="restored", help="folder for the restored PNG files (created)")
    parser.add_argument("--backend", choices=["tflite", "onnx"], default="tflite")
    args = parser.parse_args(argv)
    try:
        bundle = Bundle(args.bundle, args.backend)
    except (BundleError, OSError, ValueError) as exc:
        print(f"predict: error: {exc}", file=sys.stderr)
        sys.exit(2)
    from PIL import Image

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for image in args.images:
        try:
            restored = bundle.restore(image)
        except (OSError, ValueError) as exc:  # pixels.DecodeError is a ValueError
            print(f"{image!r}: cannot restore: {exc}", file=sys.stderr)
            failed += 1
            continue
        target = out / f"{Path(image).stem}.png"
        Image.fromarray(restored).save(target)
        print(f"{image}: {target}")
    if failed:
        print(f"predict: {failed} of {len(args.images)} image(s) could not be restored", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
