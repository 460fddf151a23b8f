"""What every bundle's predict.py shares: check the files, read the config, load modules, run the model.

Shipped in every bundle beside predict.py; needs numpy, and ai-edge-litert or onnxruntime to run a model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

SUMS_FILE = "SHA256SUMS"


class BundleError(Exception):
    """The bundle folder is incomplete, damaged or from an incompatible version."""


def verify_checksums(folder: Path) -> None:
    """Every file listed in SHA256SUMS exists with that sha256 (``sha256sum -c`` does the same)."""
    sums = folder / SUMS_FILE
    if not sums.is_file():
        raise BundleError(f"{sums}: missing; this is not a complete bundle (re-export it)")
    for line in sums.read_text(encoding="utf-8").splitlines():
        expected, _, name = line.partition("  ")
        path = folder / name
        if "/" in name or not path.is_file():
            raise BundleError(f"{path}: listed in {SUMS_FILE} but missing; re-export or re-download the bundle")
        if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise BundleError(f"{path}: its sha256 differs from {SUMS_FILE}: the file is damaged or was changed; "
                              "re-export or re-download the bundle")


def load_bundle_module(folder: Path, name: str) -> ModuleType:
    """``<folder>/<name>.py`` as a module (registered first: dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(f"bundle_{name}_{abs(hash(folder.resolve()))}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def read_config(folder: Path, required: tuple[str, ...]) -> dict[str, Any]:
    path = folder / "inference_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    missing = [key for key in required if key not in config]
    if missing:
        raise BundleError(f"{path}: missing key(s) {', '.join(missing)}; the bundle comes from another version "
                          "of distillery (re-export it)")
    return config


class BundleModel:
    """One of the bundle's model files, run on one NCHW float32 input as the pipeline's runners run it.

    TFLite takes NHWC; an int8 input is quantized, q = clip(round(x / scale) + zero_point), and an
    int8 output dequantized, (q - zero_point) * scale, with the scale and zero point in the file.
    """

    def __init__(self, path: Path, backend: str) -> None:
        self.backend = backend
        if backend == "tflite":
            from ai_edge_litert.interpreter import Interpreter

            self.interpreter = Interpreter(model_path=str(path), num_threads=1)
            self.interpreter.allocate_tensors()
            self.input = self.interpreter.get_input_details()[0]
            self.output = self.interpreter.get_output_details()[0]
        else:
            import onnxruntime

            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(1, 3, H, W) float32 -> the model's output for it, float32, batch of one."""
        if self.backend == "onnx":
            return self.session.run(None, {self.session.get_inputs()[0].name: x})[0]
        nhwc, dtype = x.transpose(0, 2, 3, 1), self.input["dtype"]
        if np.issubdtype(dtype, np.integer):
            scale, zero_point = self.input["quantization"]
            info = np.iinfo(dtype)
            nhwc = np.clip(np.round(nhwc / scale) + zero_point, info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], np.ascontiguousarray(nhwc.astype(dtype)))
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.output["index"])
        if not np.issubdtype(self.output["dtype"], np.integer):
            return raw.astype(np.float32)
        out_scale, out_zero_point = self.output["quantization"]
        return (raw.astype(np.float32) - out_zero_point) * out_scale
