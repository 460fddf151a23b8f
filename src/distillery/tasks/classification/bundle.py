"""Classification's part of the export bundle: labels, inference config, the shipped predict.py, parity.

The bundle carries the pipeline's own decoder and letterbox (``pixels.py``, ``letterbox.py``: numpy
and Pillow only). The parity check imports ``predict.py`` *from the bundle* and classifies every
test image from its file (verify -> decode -> letterbox -> normalise -> interpreter -> thresholds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from distillery.artifacts import quantized as quantized_store
from distillery.artifacts.bundle_app import load_predict_module
from distillery.data import letterbox as letterbox_module
from distillery.data import pixels as pixels_module
from distillery.data.prepared import PreparedDataset
from distillery.errors import ExportError
from distillery.runners import TFLiteModel
from distillery.tasks.base import BundleSpec
from distillery.tasks.classification import MODEL_FILES
from distillery.tasks.classification.thresholds import Thresholds

PREDICT_SCRIPT = Path("examples/predict.py")  # stages run from the repository root (a dvc.yaml dep)
BUNDLE_TOOLS = Path("examples/bundle_tools.py")  # checksums and config reading, shared by every task's predict.py
SHIPPED_MODULES = (Path(pixels_module.__file__), Path(letterbox_module.__file__))  # numpy + Pillow only


def inference_config(rule: dict[str, Any], quantized: Path, name: str, max_pixels: int) -> dict[str, Any]:
    meta = quantized_store.read_meta(quantized)
    std, mean = np.asarray(meta.input_std, np.float32), np.asarray(meta.input_mean, np.float32)
    tflite = TFLiteModel(quantized / quantized_store.TFLITE_INT8).quantization()
    kind = Thresholds(meta.task, rule["global_threshold"], rule["per_class"]).kind
    return {
        "name": name,
        "task": meta.task,
        "labels": meta.labels,
        "input_size": [meta.image_size, meta.image_size],
        "letterbox": meta.letterbox,
        "channel_order": meta.letterbox.get("channel_order", "RGB"),
        "normalization": {
            "formula": "x = pixel * scale + shift  (= (pixel - mean) / std), pixel in 0..255, per RGB channel",
            "mean": meta.input_mean, "std": meta.input_std,
            "scale": (1.0 / std).tolist(), "shift": (-mean / std).tolist(),
        },
        "models": {
            "tflite": {"file": MODEL_FILES["tflite"], "layout": "NHWC", "batch": 1, **tflite,
                       "input_quantization": "q = clip(round(x / scale) + zero_point, -128, 127)",
                       "output_dequantization": "logit = (q - zero_point) * scale"},
            "onnx": {"file": MODEL_FILES["onnx"], "layout": "NCHW", "batch": "dynamic", "input": "float32",
                     "output": "float32 logits"},
            "onnx_fp32": {"file": MODEL_FILES["onnx_fp32"], "layout": "NCHW", "batch": "dynamic"},
        },
        "max_pixels": max_pixels,
        "output_activation": "sigmoid" if meta.task == "multi_label" else "softmax",
        "thresholds": {"kind": kind, "global": rule["global_threshold"], "per_class": rule["per_class"]},
    }


def bundle_spec(rule: dict[str, Any], data: PreparedDataset, quantized: Path, name: str, max_pixels: int) -> BundleSpec:
    files = {"predict.py": PREDICT_SCRIPT.read_bytes(), BUNDLE_TOOLS.name: BUNDLE_TOOLS.read_bytes(),
             "labels.txt": ("\n".join(data.labels) + "\n").encode()}
    files |= {module.name: module.read_bytes() for module in SHIPPED_MODULES}
    return BundleSpec(files, inference_config(rule, quantized, name, max_pixels))


def check_labels_round_trip(app: Any, bundle: Path, labels: list[str]) -> None:
    """The labels as the bundle's predict.py reads them are the pipeline's, in order."""
    if app.labels != labels:
        raise ExportError(f"{bundle / 'labels.txt'}: predict.py reads {len(app.labels)} label(s) where the "
                          f"pipeline has {len(labels)} ({app.labels[:3]} vs {labels[:3]}); labels must be single "
                          "printable lines")


def bundle_decisions(bundle: Path, backend: str, data: PreparedDataset) -> np.ndarray:
    """The bundle's decisions on the test split's original files (kept by prepare), run by its predict.py."""
    app = load_predict_module(bundle).Bundle(bundle, backend)
    check_labels_round_trip(app, bundle, data.labels)
    with data.test_files() as images:
        return np.stack([app.decide(app.scores(app.preprocess(path)))
                         for path in tqdm(images, desc=f"parity ({backend})", unit="img", leave=False)])
