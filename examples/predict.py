"""Classify image files with an exported distillery bundle, as an app would.

Needs only the bundle folder, ai-edge-litert, numpy and Pillow (onnxruntime for ``--backend onnx``)::

    python examples/predict.py models/export data/raw/images/test/test_00000.png

Steps, all documented in the bundle's inference_config.json: decode (EXIF orientation, RGB) ->
letterbox -> normalise -> quantize the input -> run the model -> dequantize -> sigmoid/softmax ->
thresholds. The export stage runs this very file from the bundle to check parity with the pipeline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


class Bundle:
    def __init__(self, folder: str | Path, backend: str = "tflite") -> None:
        self.folder = Path(folder)
        self.config = json.loads((self.folder / "inference_config.json").read_text(encoding="utf-8"))
        self.labels = (self.folder / "labels.txt").read_text(encoding="utf-8").splitlines()
        self.backend = backend
        model = self.config["models"][backend]
        if backend == "tflite":
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_path=str(self.folder / model["file"]), num_threads=1)
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
        else:
            import onnxruntime

            self.session = onnxruntime.InferenceSession(str(self.folder / model["file"]),
                                                        providers=["CPUExecutionProvider"])

    def preprocess(self, path: str | Path) -> np.ndarray:
        """An image file -> the normalised (size, size, 3) float32 array the model expects."""
        box = self.config["letterbox"]
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
        size = box["size"]
        scale = size / max(image.size)
        new_w = max(1, min(size, round(image.size[0] * scale)))
        new_h = max(1, min(size, round(image.size[1] * scale)))
        if (new_w, new_h) != image.size:
            image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
        canvas = np.full((size, size, 3), box["pad_value"], dtype=np.uint8)
        left, top = (size - new_w) // 2, (size - new_h) // 2
        canvas[top : top + new_h, left : left + new_w] = np.asarray(image, dtype=np.uint8)
        norm = self.config["normalization"]
        return canvas.astype(np.float32) * np.float32(norm["scale"]) + np.asarray(norm["shift"], np.float32)

    def logits(self, x: np.ndarray) -> np.ndarray:
        if self.backend == "onnx":
            return self.session.run(None, {self.session.get_inputs()[0].name: x.transpose(2, 0, 1)[None]})[0][0]
        scale, zero_point = self.input["quantization"]
        info = np.iinfo(self.input["dtype"])
        q = np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(self.input["dtype"])
        self.interpreter.set_tensor(self.input["index"], q[None])
        self.interpreter.invoke()
        out_scale, out_zero_point = self.output["quantization"]
        raw = self.interpreter.get_tensor(self.output["index"])[0]
        return (raw.astype(np.float32) - out_zero_point) * out_scale

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
    bundle = Bundle(args.bundle, args.backend)
    for image in args.images:
        try:
            labels, scores = bundle.predict(image)
        except (OSError, ValueError) as exc:
            print(f"{image}: cannot classify: {exc}", file=sys.stderr)
            continue
        shown = ", ".join(f"{label} ({scores[bundle.labels.index(label)]:.2f})" for label in labels)
        print(f"{image}: {shown or 'no label'}")


if __name__ == "__main__":
    main()
