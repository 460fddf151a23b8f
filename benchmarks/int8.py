"""INT8 vs fp32 for TFLite and ONNX on the demo's quantized student: size, batch-1 latency, val macro-F1.

Reads what ``make demo`` left in ``paths.quantized``; the int8 and fp32 models take turns in
every timing round (one thread each), so load on a shared machine cannot skew the ratio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from distillery import config
from distillery.artifacts.quantized import ONNX_FP32, ONNX_INT8, TFLITE_FP32, TFLITE_INT8
from distillery.data.batches import Normalizer, normalised_inputs
from distillery.data.prepared import PreparedDataset
from distillery.runners import OnnxModel, TFLiteModel, median_latencies_ms
from distillery.tasks.classification.metrics import PRIMARY_METRIC, classification_metrics, probabilities

RUNS = 500
FILES = {"tflite": (TFLiteModel, TFLITE_INT8, TFLITE_FP32), "onnx": (OnnxModel, ONNX_INT8, ONNX_FP32)}


def compare(folder: Path, loader: type, int8: str, fp32: str, x: np.ndarray, targets: np.ndarray,
            task: str) -> dict[str, Any]:
    models = {"int8": loader(folder / int8, threads=1), "fp32": loader(folder / fp32, threads=1)}
    latency = median_latencies_ms(models, x[:1], RUNS)
    quality = {name: classification_metrics(probabilities(model(x), task), targets, task)[PRIMARY_METRIC]
               for name, model in models.items()}
    sizes = {"int8": (folder / int8).stat().st_size, "fp32": (folder / fp32).stat().st_size}
    return {
        "int8_kib": round(sizes["int8"] / 1024, 1), "fp32_kib": round(sizes["fp32"] / 1024, 1),
        "size_ratio": round(sizes["int8"] / sizes["fp32"], 3),
        "int8_latency_ms": latency["int8"], "fp32_latency_ms": latency["fp32"],
        "latency_ratio": round(latency["int8"] / latency["fp32"], 3),
        "int8_val_macro_f1": round(quality["int8"], 4), "fp32_val_macro_f1": round(quality["fp32"], 4),
        "macro_f1_drop_points": round(100 * (quality["fp32"] - quality["int8"]), 2),
    }


def main() -> dict[str, Any]:
    params = config.load()
    folder = params.paths.quantized
    if not (folder / TFLITE_INT8).is_file():
        raise SystemExit(f"error: {folder} has no quantized student; run `make demo` first")
    data = PreparedDataset.open(params.paths.prepared)
    val = data.split("val")
    x = normalised_inputs(val, Normalizer(params.model.input_mean, params.model.input_std))
    targets = np.asarray(val.labels)
    results: dict[str, Any] = {"runs": RUNS, "threads": 1, "batch": 1}
    for target, (loader, int8, fp32) in FILES.items():
        results[target] = compare(folder, loader, int8, fp32, x, targets, data.task)
    return results
