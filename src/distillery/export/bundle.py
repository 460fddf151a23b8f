"""Build ``paths.export``: models, labels, inference config, thresholds, test metrics, model card, predict.py.

The bundle carries the pipeline's own decoder and letterbox (``pixels.py``, ``letterbox.py``, numpy
and Pillow only) and a ``SHA256SUMS`` of every file, which ``predict.py`` verifies before loading
anything. The parity check imports ``predict.py`` *from the bundle* and classifies every test image
from its file (verify -> decode -> letterbox -> normalise -> interpreter -> thresholds), then
compares the labels and the decisions with the evaluate stage's own; a bundle that does not
reproduce the pipeline fails.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import logging
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from tqdm import tqdm

from distillery import atomic
from distillery.config import Params
from distillery.data import letterbox as letterbox_module
from distillery.data import pixels as pixels_module
from distillery.data.batches import Normalizer
from distillery.data.prepared import SAMPLES, PreparedDataset
from distillery.errors import ExportError
from distillery.evaluate.metrics import agreement, probabilities
from distillery.evaluate.report import RECOMMENDATION, TEST_DECISIONS, read_quantized_meta
from distillery.evaluate.thresholds import Thresholds
from distillery.export.card import model_card
from distillery.models.checkpoint import load_model_dir
from distillery.models.inference import predict_logits
from distillery.quantize.run import ONNX_FP32, ONNX_INT8, TFLITE_INT8
from distillery.quantize.runners import TFLiteModel

log = logging.getLogger(__name__)

PREDICT_SCRIPT = Path("examples/predict.py")  # stages run from the repository root (a dvc.yaml dep)
SHIPPED_MODULES = (Path(pixels_module.__file__), Path(letterbox_module.__file__))  # numpy + Pillow only
SUMS_FILE = "SHA256SUMS"
FILES_BY_BACKEND = {"tflite": "model_int8.tflite", "onnx": "model_int8.onnx", "onnx_fp32": "model_fp32.onnx"}
FILES = {FILES_BY_BACKEND["tflite"]: TFLITE_INT8, FILES_BY_BACKEND["onnx"]: ONNX_INT8,
         FILES_BY_BACKEND["onnx_fp32"]: ONNX_FP32}  # bundle name -> models/quantized name


def inference_config(params: Params, quantized: Path, rule: Thresholds) -> dict[str, Any]:
    meta = read_quantized_meta(quantized)
    std, mean = np.asarray(meta.input_std, np.float32), np.asarray(meta.input_mean, np.float32)
    tflite = TFLiteModel(quantized / TFLITE_INT8).quantization()
    return {
        "name": params.export.name,
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
            "tflite": {"file": FILES_BY_BACKEND["tflite"], "layout": "NHWC", "batch": 1, **tflite,
                       "input_quantization": "q = clip(round(x / scale) + zero_point, -128, 127)",
                       "output_dequantization": "logit = (q - zero_point) * scale"},
            "onnx": {"file": FILES_BY_BACKEND["onnx"], "layout": "NCHW", "batch": "dynamic", "input": "float32",
                     "output": "float32 logits"},
            "onnx_fp32": {"file": FILES_BY_BACKEND["onnx_fp32"], "layout": "NCHW", "batch": "dynamic"},
        },
        "max_pixels": params.data.max_pixels,
        "output_activation": "sigmoid" if meta.task == "multi_label" else "softmax",
        "thresholds": {"kind": rule.kind, "global": rule.global_threshold, "per_class": rule.per_class},
    }


def load_predict_module(bundle: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_predict", bundle / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_paths(prepared: Path, raw: Path) -> list[Path]:
    with open(prepared / SAMPLES, newline="", encoding="utf-8") as handle:
        return [raw / row["path"] for row in csv.DictReader(handle) if row["split"] == "test"]


def bundle_decisions(bundle: Path, backend: str, images: list[Path]) -> np.ndarray:
    app = load_predict_module(bundle).Bundle(bundle, backend)
    return np.stack([app.decide(app.scores(app.preprocess(path)))
                     for path in tqdm(images, desc=f"parity ({backend})", unit="img", leave=False)])


def fp32_student_decisions(params: Params, data: PreparedDataset, rule: Thresholds) -> np.ndarray:
    student, meta = load_model_dir(params.paths.student)
    logits = predict_logits(student, data.split("test"), Normalizer(meta.input_mean, meta.input_std))
    return rule.decide(probabilities(logits, data.task))


def write_checksums(bundle: Path) -> None:
    """``SHA256SUMS`` in ``sha256sum`` format over every other file of the bundle."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}"
             for p in sorted(bundle.iterdir()) if p.is_file() and p.name != SUMS_FILE]
    (bundle / SUMS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def check_labels_round_trip(bundle: Path, labels: list[str]) -> None:
    """The labels as the bundle's predict.py reads them are the pipeline's, in order."""
    shipped = load_predict_module(bundle).Bundle(bundle, "onnx").labels
    if shipped != labels:
        raise ExportError(f"{bundle / 'labels.txt'}: predict.py reads {len(shipped)} label(s) where the pipeline has "
                          f"{len(labels)} ({shipped[:3]} vs {labels[:3]}); labels must be single printable lines")


def parity(params: Params, bundle: Path, data: PreparedDataset, rule: Thresholds) -> dict[str, Any]:
    paths = params.paths
    check_labels_round_trip(bundle, data.labels)
    images = test_image_paths(paths.prepared, paths.raw)
    missing = [p for p in images if not p.is_file()]
    if missing:
        raise ExportError(f"{missing[0]}: a test image listed in {paths.prepared / SAMPLES} is missing "
                          f"({len(missing)} in all); the parity check decodes the original files")
    pipeline = np.load(paths.evaluation / TEST_DECISIONS)
    fp32 = fp32_student_decisions(params, data, rule)
    report = {"images": len(images)}
    for backend in ("tflite", "onnx"):
        decisions = bundle_decisions(bundle, backend, images)
        with_pipeline, with_fp32 = agreement(decisions, pipeline[backend]), agreement(decisions, fp32)
        report[backend] = {"pipeline_agreement_images": round(with_pipeline["images"], 6),
                           "pipeline_agreement_labels": round(with_pipeline["labels"], 6),
                           "fp32_student_agreement_images": round(with_fp32["images"], 6),
                           "fp32_student_agreement_labels": round(with_fp32["labels"], 6)}
        disagreement = 1 - with_pipeline["images"]
        log.info("%s bundle vs pipeline int8: %.2f%% of test images differ; vs fp32 student %.2f%% of labels agree",
                 backend, 100 * disagreement, 100 * with_fp32["labels"])
        if disagreement > params.export.max_disagreement:
            raise ExportError(f"{bundle / FILES_BY_BACKEND[backend]}: run from the bundle, its decisions differ "
                              f"from the pipeline's int8 evaluation on {disagreement:.2%} of test images "
                              f"(export.max_disagreement is {params.export.max_disagreement:.2%}); the bundle does "
                              "not reproduce the pipeline's preprocessing")
    return report


def build_bundle(params: Params, test_metrics: dict[str, Any], lineage: dict[str, Any]) -> dict[str, Any]:
    paths = params.paths
    data = PreparedDataset.open(paths.prepared)
    recommendation = json.loads((paths.evaluation / RECOMMENDATION).read_text(encoding="utf-8"))
    rule = Thresholds(data.task, recommendation["global_threshold"], recommendation["per_class"])
    with atomic.atomic_dir(paths.export) as out:
        for name, source in FILES.items():
            shutil.copyfile(paths.quantized / source, out / name)
        shutil.copyfile(PREDICT_SCRIPT, out / "predict.py")
        for module in SHIPPED_MODULES:
            shutil.copyfile(module, out / module.name)
        (out / "labels.txt").write_text("\n".join(data.labels) + "\n", encoding="utf-8")
        config = inference_config(params, paths.quantized, rule)
        (out / "inference_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        shutil.copyfile(paths.evaluation / RECOMMENDATION, out / "threshold_recommendation.json")
        (out / "metrics.json").write_text(json.dumps(test_metrics, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
        write_checksums(out)
        checks = parity(params, out, data, rule)
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.name != SUMS_FILE}
        (out / "README.md").write_text(model_card(config, test_metrics, lineage, checks, sizes), encoding="utf-8")
        write_checksums(out)
    files = {p.name: p.stat().st_size for p in sorted(paths.export.iterdir())}
    return {"parity": checks, "files": files}
