"""Build ``paths.export``: the int8 and fp32 models, the task's files and inference config, a model card, checksums.

Every bundle carries ``SHA256SUMS`` of all its files, which its ``predict.py`` verifies before
loading anything. The parity check runs the bundle *as an app would* (the task's predict.py from
the bundle, on every test file) and compares its decisions with the evaluate stage's own; a bundle
that does not reproduce the pipeline fails. Agreement with the fp32 PyTorch student is reported
beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from distillery import atomic
from distillery.artifacts import evaluation, quantized
from distillery.config import Params
from distillery.data.batches import Normalizer
from distillery.errors import ExportError
from distillery.models.checkpoint import load_model_dir
from distillery.models.inference import predict_outputs
from distillery.tasks.base import Task, TaskData

log = logging.getLogger(__name__)

SUMS_FILE = "SHA256SUMS"
SOURCES = {"tflite": quantized.TFLITE_INT8, "onnx": quantized.ONNX_INT8, "onnx_fp32": quantized.ONNX_FP32}
PARITY_BACKENDS = ("tflite", "onnx")


def write_checksums(bundle: Path) -> None:
    """``SHA256SUMS`` in ``sha256sum`` format over every other file of the bundle."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
             for p in sorted(bundle.iterdir()) if p.is_file() and p.name != SUMS_FILE]
    (bundle / SUMS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def fp32_student_decisions(task: Task, params: Params, data: TaskData, rule: dict[str, Any]) -> np.ndarray:
    student, meta = load_model_dir(params.paths.student)
    outputs = predict_outputs(student, data.split("test"), Normalizer(meta.input_mean, meta.input_std), task.forward)
    return task.decide(outputs, data, "test", rule)


def parity(task: Task, params: Params, bundle: Path, data: TaskData, rule: dict[str, Any]) -> dict[str, Any]:
    pipeline = evaluation.read_test_decisions(params.paths.evaluation)
    fp32 = fp32_student_decisions(task, params, data, rule)
    images = task.test_items(data)
    report: dict[str, Any] = {"images": images}
    for backend in PARITY_BACKENDS:
        started = time.perf_counter()
        decisions = task.parity(bundle, backend, data)
        seconds = time.perf_counter() - started
        with_pipeline, with_fp32 = task.agreement(decisions, pipeline[backend]), task.agreement(decisions, fp32)
        report[backend] = {"pipeline_agreement_images": round(with_pipeline["images"], 6),
                           "pipeline_agreement_labels": round(with_pipeline["labels"], 6),
                           "fp32_student_agreement_images": round(with_fp32["images"], 6),
                           "fp32_student_agreement_labels": round(with_fp32["labels"], 6),
                           **task.parity_gap(decisions, pipeline[backend], data),
                           "seconds_per_image": round(seconds / images, 4)}
        disagreement = 1 - with_pipeline["images"]
        log.info("%s bundle vs pipeline int8: %.2f%% of test images differ; vs fp32 student %.2f%% of labels agree",
                 backend, 100 * disagreement, 100 * with_fp32["labels"])
        if disagreement > params.export.max_disagreement:
            raise ExportError(f"{bundle / task.bundle_models[backend]}: run from the bundle, its decisions differ "
                              f"from the pipeline's int8 evaluation on {disagreement:.2%} of test images "
                              f"(export.max_disagreement is {params.export.max_disagreement:.2%}); the bundle does "
                              "not reproduce the pipeline's preprocessing")
    return report


def build_bundle(task: Task, params: Params, test_metrics: dict[str, Any], lineage: dict[str, Any]) -> dict[str, Any]:
    paths = params.paths
    data = task.open_data(paths.prepared)
    rule = evaluation.read_rule(paths.evaluation)
    spec = task.bundle(rule, data, paths.quantized, params.export.name, params.data.max_pixels)
    with atomic.atomic_dir(paths.export) as out:
        for backend, name in task.bundle_models.items():
            shutil.copyfile(paths.quantized / SOURCES[backend], out / name)
        for name, content in spec.files.items():
            (out / name).write_bytes(content)
        (out / "inference_config.json").write_text(json.dumps(spec.inference_config, indent=2) + "\n",
                                                   encoding="utf-8")
        shutil.copyfile(paths.evaluation / evaluation.RECOMMENDATION, out / evaluation.RECOMMENDATION)
        (out / "metrics.json").write_text(json.dumps(test_metrics, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
        write_checksums(out)
        checks = parity(task, params, out, data, rule)
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.name != SUMS_FILE}
        card = task.model_card(spec.inference_config, test_metrics, lineage, checks, sizes)
        (out / "README.md").write_text(card, encoding="utf-8")
        write_checksums(out)
    files = {p.name: p.stat().st_size for p in sorted(paths.export.iterdir())}
    return {"parity": checks, "files": files}
