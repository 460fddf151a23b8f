"""The quantize stage: the fp32 student -> int8 TFLite (mobile) and int8 ONNX (server CPU), measured.

Every model is scored on the validation split with the task's metric code and compared with the
fp32 PyTorch student: metric drop, agreement of decisions, size, and batch-1 single-thread latency
against the fp32 model of the same runtime, measured in the same run. The models traced are the
task's export module (``Task.export_module``); what they compute is the task's business.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distillery import atomic
from distillery.artifacts.quantized import ONNX_FP32, ONNX_INT8, TFLITE_FP32, TFLITE_INT8, write_meta
from distillery.config import Params
from distillery.data.batches import Normalizer, normalised_inputs
from distillery.errors import ExportError
from distillery.models.checkpoint import load_model_dir
from distillery.models.inference import predict_outputs
from distillery.quantize import onnx, tflite
from distillery.quantize.calibration import calibration_batches
from distillery.quantize.qat import qat_int8
from distillery.runners import OnnxModel, TFLiteModel, median_latencies_ms
from distillery.runtime import configure_torch
from distillery.tasks.base import Task, TaskData

log = logging.getLogger(__name__)

Runner = Callable[[np.ndarray], np.ndarray]

# uint8 activations were 2.4x faster than int8 on this project's CPUs; int8 must beat them by 25%.
CLEARLY_FASTER = 1.25


@dataclass(frozen=True)
class Reference:
    """The fp32 PyTorch student on the validation split: what every int8 model is compared with."""

    task: Task
    data: TaskData
    targets: np.ndarray
    inputs: np.ndarray
    decisions: np.ndarray
    metrics: dict[str, Any]


def score(runner: Runner, reference: Reference) -> dict[str, Any]:
    """Metrics of ``runner`` on val, with its drop (in points of the primary metric) and agreement."""
    task, data = reference.task, reference.data
    outputs = runner(reference.inputs)
    metrics = task.score(outputs, reference.targets, data, "val")
    agree = task.agreement(task.decide(outputs, data, "val"), reference.decisions)
    primary = task.primary_metric
    return {
        "val": metrics,
        "metric_drop": round(task.points_per_unit * (reference.metrics[primary] - metrics[primary]), 4),
        "agreement": round(agree["labels"], 6),
        "agreement_images": round(agree["images"], 6),
    }


def size_and_latency(int8: Path, fp32: Path, load: Callable[[Path], Runner], example: np.ndarray,
                     runs: int) -> dict[str, Any]:
    sizes = {"size_bytes": int8.stat().st_size, "fp32_size_bytes": fp32.stat().st_size}
    measured = median_latencies_ms({"int8": load(int8), "fp32": load(fp32)}, example, runs)
    latency = {"latency_ms": measured["int8"], "fp32_latency_ms": measured["fp32"]}
    return {**sizes, "size_ratio": round(sizes["size_bytes"] / sizes["fp32_size_bytes"], 4), **latency,
            "latency_ratio": round(latency["latency_ms"] / latency["fp32_latency_ms"], 4)}


def one_thread(cls: type) -> Callable[[Path], Runner]:
    return lambda path: cls(path, threads=1)


def quantize_student(task: Task, params: Params) -> dict[str, Any]:
    cfg, paths = params.quantize, params.paths
    configure_torch(params.train.threads, params.seed)
    data = task.open_data(paths.prepared)
    student, meta = load_model_dir(paths.student)
    normalizer = Normalizer(meta.input_mean, meta.input_std)
    val = data.split("val")
    fp32_outputs = predict_outputs(student, val, normalizer, task.forward)
    targets = np.asarray(val.labels)
    reference = Reference(task, data, targets, normalised_inputs(val, normalizer),
                          task.decide(fp32_outputs, data, "val"), task.score(fp32_outputs, targets, data, "val"))
    calibration = calibration_batches(data.split("train"), cfg.calibration_size, params.seed, normalizer)
    with atomic.atomic_dir(paths.quantized) as out, warnings.catch_warnings():
        # torch.export deep-copies pytree specs through a class torch 2.13 deprecates; nothing for users to do
        warnings.filterwarnings("ignore", r".*isinstance\(treespec, LeafSpec\)", FutureWarning)
        write_meta(out, meta)
        module = task.export_module(student)
        results = {"tflite": quantize_tflite(params, task, module, data, normalizer, calibration, out, reference),
                   "onnx": quantize_onnx(cfg.onnx_activation, cfg.onnx_reduce_range, task, module, calibration,
                                         out, reference, cfg.latency_runs)}
        check_drop(results, cfg.max_drop, cfg.method, f"{task.drop_unit} of val {task.primary_metric}")
    log.info("scored with %d threads; latencies with 1 thread, batch 1, median of %d runs", params.train.threads,
             cfg.latency_runs)
    return {"method": cfg.method, "calibration_images": sum(len(b) for b in calibration),
            "fp32": {"val": reference.metrics}, **results}


def quantize_tflite(params: Params, task: Task, module: torch.nn.Module, data: TaskData,
                    normalizer: Normalizer, calibration: list[torch.Tensor], out: Path,
                    reference: Reference) -> dict[str, Any]:
    """``module``: the student as the task's export module (``x -> output``)."""
    cfg = params.quantize
    log.info("TFLite: converting the fp32 student (reference for size and latency)")
    tflite.export_fp32(module, calibration, out / TFLITE_FP32)
    if cfg.method == "qat":
        log.info("TFLite: %d epochs of quantization-aware fine-tuning at lr %g", cfg.qat_epochs, cfg.qat_lr)
        int8 = qat_int8(module, data.split("train"), normalizer, task.loss(params.train, data), cfg.qat_epochs,
                        cfg.qat_lr, params.seed, params.train.batch_size)
    else:
        log.info("TFLite: PT2E static int8 calibrated on %d train images", sum(len(b) for b in calibration))
        int8 = tflite.calibrated_int8(module, calibration)
    tflite.export_int8(int8, calibration, out / TFLITE_INT8, qat=cfg.method == "qat")
    runner = TFLiteModel(out / TFLITE_INT8, threads=params.train.threads)
    return {**score(runner, reference), **runner.quantization(),
            **size_and_latency(out / TFLITE_INT8, out / TFLITE_FP32, one_thread(TFLiteModel), reference.inputs[:1],
                               cfg.latency_runs)}


def quantize_onnx(activation: str, reduce_range: bool, task: Task, module: torch.nn.Module,
                  calibration: list[torch.Tensor], out: Path, reference: Reference, runs: int) -> dict[str, Any]:
    """Export fp32, quantize with each candidate activation type, keep the fastest at batch 1.

    A candidate replaces the preferred uint8 only when it is clearly faster (``CLEARLY_FASTER``),
    so that timing noise on a shared machine cannot flip the output between two runs.
    """
    log.info("ONNX: exporting the fp32 student")
    onnx.export_fp32(module, torch.from_numpy(reference.inputs[:2]), out / ONNX_FP32, task.output_name)
    candidates = ["int8", "uint8"] if activation == "auto" else [activation]
    for candidate in candidates:
        log.info("ONNX: static QDQ int8 weights, %s activations", candidate)
        onnx.quantize_int8(out / ONNX_FP32, calibration, out / f"{candidate}.{ONNX_INT8}", candidate, reduce_range)
    latencies = median_latencies_ms({c: OnnxModel(out / f"{c}.{ONNX_INT8}", threads=1) for c in candidates},
                                    reference.inputs[:1], runs)
    chosen = min(latencies, key=lambda name: latencies[name] / (CLEARLY_FASTER if name == "uint8" else 1.0))
    (out / f"{chosen}.{ONNX_INT8}").rename(out / ONNX_INT8)
    for candidate in candidates:
        (out / f"{candidate}.{ONNX_INT8}").unlink(missing_ok=True)
    log.info("ONNX: batch-1 latency by activation type %s ms: keeping %s", latencies, chosen)
    result = {**score(OnnxModel(out / ONNX_INT8, threads=1), reference), "activation_type": chosen,
              "latency_ms_by_activation_type": latencies}
    if reduce_range:  # recorded only when on, so the records of runs without it are unchanged
        result["reduce_range"] = True
    result.update(size_and_latency(out / ONNX_INT8, out / ONNX_FP32, one_thread(OnnxModel), reference.inputs[:1], runs))
    return result


def check_drop(results: dict[str, dict[str, Any]], max_drop: float, method: str, what: str) -> None:
    for target, result in results.items():
        if result["metric_drop"] > max_drop:
            advice = ("raise quantize.qat_epochs or quantize.calibration_size" if method == "qat"
                      else "set quantize.method: qat, or raise quantize.calibration_size")
            raise ExportError(f"{target} int8 loses {result['metric_drop']:.2f} {what} "
                              f"against the fp32 student (quantize.max_drop is {max_drop}); {advice}")
