"""The pipeline's runners for exported models: normalised NCHW float batches in, float logits out.

Each runner hides its model's layout and quantization (int8 input scale/zero point) so that the
same metric code scores PyTorch, TFLite and ONNX models alike. Batch-1 latency is measured with
``threads=1``, the deployment setting the issue asks for.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from distillery.errors import ExportError


def quantize_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """float -> the tensor's integer type with its (scale, zero point); a float tensor passes through."""
    dtype = detail["dtype"]
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantize_output(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if not np.issubdtype(detail["dtype"], np.integer):
        return y.astype(np.float32)
    scale, zero_point = detail["quantization"]
    return ((y.astype(np.float32) - zero_point) * scale).astype(np.float32)


class TFLiteModel:
    """A ``.tflite`` classifier with NHWC batch-1 input, run with ``ai_edge_litert``."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ExportError(f"{path}: ai_edge_litert cannot load it: {exc}") from exc
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def _invoke(self, image_nhwc: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], quantize_input(image_nhwc, self.input))
        self.interpreter.invoke()
        return dequantize_output(self.interpreter.get_tensor(self.output["index"]), self.output)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        return np.concatenate([self._invoke(nhwc[i : i + 1]) for i in range(len(nhwc))])

    def quantization(self) -> dict[str, Any]:
        return {"input": tensor_quantization(self.input), "output": tensor_quantization(self.output)}


def tensor_quantization(detail: dict[str, Any]) -> dict[str, Any]:
    scale, zero_point = detail["quantization"]
    return {"dtype": np.dtype(detail["dtype"]).name, "shape": [int(d) for d in detail["shape"]],
            "scale": float(scale), "zero_point": int(zero_point)}


class OnnxModel:
    """An ONNX classifier with NCHW float input of any batch size, run with onnxruntime on the CPU."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own unrelated exception types
            raise ExportError(f"{path}: onnxruntime cannot load it: {exc}") from exc
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        return np.concatenate([self.session.run(None, {self.input_name: x[i : i + batch_size]})[0]
                               for i in range(0, len(x), batch_size)])


def median_latencies_ms(predictors: dict[str, Callable[[np.ndarray], Any]], example: np.ndarray, runs: int,
                        warmup: int = 10) -> dict[str, float]:
    """Median wall time of each ``predict(example)`` over ``runs`` rounds after ``warmup``, in ms.

    The models take turns within every round, so a burst of load on a shared machine slows all of
    them alike instead of skewing the ratio between them.
    """
    for predict in predictors.values():
        for _ in range(warmup):
            predict(example)
    times: dict[str, list[float]] = {name: [] for name in predictors}
    for _ in range(runs):
        for name, predict in predictors.items():
            start = time.perf_counter()
            predict(example)
            times[name].append(time.perf_counter() - start)
    return {name: round(1000 * statistics.median(values), 4) for name, values in times.items()}
