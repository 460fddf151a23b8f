"""Classify image files with an exported distillery bundle, as an app would.

Needs only the bundle folder, ai-edge-litert, numpy and Pillow (onnxruntime for ``--backend onnx``)::

    python models/export/predict.py models/export data/raw/images/test/test_00000.png

Before anything is loaded, every file of the bundle is checked against its ``SHA256SUMS``. Steps,
all documented in the bundle's inference_config.json: decode (the bundle's ``pixels.py``: EXIF
orientation, 8-bit RGB, a pixel limit) -> letterbox (the bundle's ``letterbox.py``) -> normalise ->
quantize the input -> run the model -> dequantize -> sigmoid/softmax -> thresholds. The export stage
runs this very file from the bundle to check parity with the pipeline. Exit code: 0 when every
image was classified, 1 when any could not be, 2 when the bundle itself is unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bundle's own bundle_tools.py
from bundle_tools import BundleError, BundleModel, load_bundle_module, read_config, verify_checksums  # noqa: E402

REQUIRED_KEYS = ("labels", "letterbox", "normalization", "models", "output_activation", "thresholds", "max_pixels")


class Bundle:
    def __init__(self, folder: str | Path, backend: str = "tflite") -> None:
        self.folder = Path(folder)
        verify_checksums(self.folder)
        self.config = read_config(self.folder, REQUIRED_KEYS)
        self.labels = (self.folder / "labels.txt").read_text(encoding="utf-8").split("\n")[:-1]
        self.pixels = load_bundle_module(self.folder, "pixels")
        box = self.config["letterbox"]
        self.letterbox = load_bundle_module(self.folder, "letterbox").Letterbox(box["size"], box["pad_value"])
        self.model = BundleModel(self.folder / self.config["models"][backend]["file"], backend)

    def preprocess(self, path: str | Path) -> np.ndarray:
        """An image file -> the normalised (size, size, 3) float32 array the model expects."""
        image = self.pixels.decode(path, self.config["max_pixels"], "the bundle's max_pixels")
        canvas = self.letterbox.apply(image)
        norm = self.config["normalization"]
        return canvas.astype(np.float32) * np.float32(norm["scale"]) + np.asarray(norm["shift"], np.float32)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The normalised (size, size, 3) image -> the model's logits."""
        return self.model(x.transpose(2, 0, 1)[None])[0]

    def scores(self, x: np.ndarray) -> np.ndarray:
        logits = self.logits(x).astype(np.float32)
        if self.config["output_activation"] == "sigmoid":
            return 1.0 / (1.0 + np.exp(-logits))
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Boolean decision per label, by the tuned thresholds in inference_config.json."""
        rule = self.config["thresholds"]
        if rule["kind"] == "reject_below":
            decisions = np.zeros(len(scores), dtype=bool)
            if scores.max() >= rule["global"]:
                decisions[scores.argmax()] = True
            return decisions
        return scores >= np.asarray(rule["per_class"], dtype=np.float32)

    def predict(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        scores = self.scores(self.preprocess(path))
        return [label for label, on in zip(self.labels, self.decide(scores), strict=True) if on], scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the exported folder (models/export)")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--backend", choices=["tflite", "onnx"], default="tflite")
    args = parser.parse_args(argv)
    try:
        bundle = Bundle(args.bundle, args.backend)
    except (BundleError, OSError, ValueError) as exc:
        print(f"predict: error: {exc}", file=sys.stderr)
        sys.exit(2)
    failed = 0
    for image in args.images:
        try:
            labels, scores = bundle.predict(image)
        except (OSError, ValueError) as exc:  # pixels.DecodeError is a ValueError
            print(f"{image!r}: cannot classify: {exc}", file=sys.stderr)
            failed += 1
            continue
        shown = ", ".join(f"{label} ({scores[bundle.labels.index(label)]:.2f})" for label in labels)
        print(f"{image}: {shown or 'no label'}")
    if failed:
        print(f"predict: {failed} of {len(args.images)} image(s) could not be classified", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
