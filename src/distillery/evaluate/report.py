"""The evaluate stage: tune the decision rule on val with the shipped int8 model, then score test once.

Scores come from the int8 TFLite model (the mobile target, the one whose thresholds ship); the ONNX
int8 model is scored on test with the same rule and reported beside it. Test data never chooses
anything: it is read after the rule is fixed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from distillery import atomic
from distillery.config import Params
from distillery.data.batches import Normalizer
from distillery.data.prepared import PreparedDataset
from distillery.evaluate.metrics import PRIMARY_METRIC, agreement, classification_metrics, probabilities
from distillery.evaluate.plots import write_plots
from distillery.evaluate.thresholds import Thresholds, tune
from distillery.models.checkpoint import ModelMeta
from distillery.quantize.run import META, ONNX_INT8, TFLITE_INT8, normalised_inputs
from distillery.quantize.runners import OnnxModel, TFLiteModel

log = logging.getLogger(__name__)

RECOMMENDATION = "threshold_recommendation.json"
TEST_DECISIONS = "test_decisions.npz"  # the pipeline's own int8 decisions on test: export's parity reference
GAIN_WARNING_POINTS = 5.0


def read_quantized_meta(folder: Path) -> ModelMeta:
    return ModelMeta(**json.loads((folder / META).read_text(encoding="utf-8")))


def evaluate_int8(params: Params) -> dict[str, Any]:
    cfg, paths = params.thresholds, params.paths
    data = PreparedDataset.open(paths.prepared)
    meta = read_quantized_meta(paths.quantized)
    normalizer = Normalizer(meta.input_mean, meta.input_std)
    tflite = TFLiteModel(paths.quantized / TFLITE_INT8, threads=params.train.threads)
    val, classes = data.split("val"), len(data.labels)
    val_targets = np.asarray(val.labels).astype(bool)
    log.info("scoring val (%d images) with the int8 TFLite model", len(val))
    val_scores = probabilities(tflite(normalised_inputs(val, normalizer)), data.task)
    flat, tuned = Thresholds.flat(data.task, classes), tune(val_scores, val_targets, data.task, cfg)
    log.info("tuned on val: global %.2f, per class %s", tuned.global_threshold, tuned.per_class)

    test = data.split("test")
    test_targets = np.asarray(test.labels).astype(bool)
    log.info("scoring test (%d images) once, with the rule fixed", len(test))
    test_inputs = normalised_inputs(test, normalizer)
    test_scores = probabilities(tflite(test_inputs), data.task)
    onnx_scores = probabilities(OnnxModel(paths.quantized / ONNX_INT8, threads=params.train.threads)(test_inputs),
                                data.task)

    def measure(scores: np.ndarray, targets: np.ndarray, rule: Thresholds, per_class: bool = False) -> dict:
        return classification_metrics(scores, targets, data.task, labels=data.labels if per_class else None,
                                      decisions=rule.decide(scores))

    report = {
        "objective": cfg.objective if cfg.objective != "fbeta" else f"f{cfg.beta:g}",
        "thresholds": {"global": tuned.global_threshold, "per_class": dict(zip(data.labels, tuned.per_class,
                                                                                strict=True)),
                       "kind": tuned.kind},
        "val": {"flat": measure(val_scores, val_targets, flat), "tuned": measure(val_scores, val_targets, tuned)},
        "test": {"flat": measure(test_scores, test_targets, flat),
                 "tuned": measure(test_scores, test_targets, tuned, per_class=True),
                 "onnx_int8_tuned": measure(onnx_scores, test_targets, tuned),
                 "images": len(test)},
    }
    gain = 100 * (report["test"]["tuned"][PRIMARY_METRIC] - report["test"]["flat"][PRIMARY_METRIC])
    report["test_gain_points"] = round(gain, 4)
    report["val_gain_points"] = round(100 * (report["val"]["tuned"][PRIMARY_METRIC]
                                             - report["val"]["flat"][PRIMARY_METRIC]), 4)
    report["miscalibration_warning"] = gain > GAIN_WARNING_POINTS
    if report["miscalibration_warning"]:
        log.warning("tuning gained %.1f points of test %s (> %.0f): the model looks miscalibrated; check training",
                    gain, PRIMARY_METRIC, GAIN_WARNING_POINTS)
    tflite_decisions, onnx_decisions = tuned.decide(test_scores), tuned.decide(onnx_scores)
    report["test"]["tflite_onnx_agreement"] = agreement(tflite_decisions, onnx_decisions)
    with atomic.atomic_dir(paths.evaluation) as out:
        atomic.write_json(out / RECOMMENDATION, {"task": data.task, **asdict(tuned), "labels": data.labels,
                                                 "objective": report["objective"], "chosen_on": "val",
                                                 "val_" + PRIMARY_METRIC: report["val"]["tuned"][PRIMARY_METRIC]})
        with atomic.atomic_path(out / TEST_DECISIONS) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, tflite=tflite_decisions, onnx=onnx_decisions)
    write_plots(paths.plots / "evaluate", data.task, data.labels, val_scores, val_targets, test_scores, test_targets,
                flat, tuned)
    return report
