"""Classification's evaluation: tune thresholds on val with the shipped int8 model, then score test once.

Scores come from the int8 TFLite model (the mobile target, the one whose thresholds ship); the ONNX
int8 model is scored on test with the same rule and reported beside it. Test data never chooses
anything: it is read after the rule is fixed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from distillery.config import ThresholdsConfig
from distillery.data.prepared import PreparedDataset
from distillery.tasks.base import Evaluation
from distillery.tasks.classification.metrics import PRIMARY_METRIC, agreement, classification_metrics, probabilities
from distillery.tasks.classification.plots import write_plots
from distillery.tasks.classification.thresholds import Thresholds, tune

log = logging.getLogger(__name__)

GAIN_WARNING_POINTS = 5.0


def evaluate_classification(val: tuple[np.ndarray, np.ndarray], test: dict[str, np.ndarray], test_targets: np.ndarray,
                            cfg: ThresholdsConfig, data: PreparedDataset, plots: Path) -> Evaluation:
    """``val``: TFLite int8 logits and targets; ``test``: int8 logits per backend (tflite, onnx)."""
    task, classes = data.task, len(data.labels)
    val_scores, val_targets = probabilities(val[0], task), val[1].astype(bool)
    flat, tuned = Thresholds.flat(task, classes), tune(val_scores, val_targets, task, cfg)
    log.info("tuned on val: global %.2f, per class %s", tuned.global_threshold, tuned.per_class)
    test_targets = test_targets.astype(bool)
    test_scores, onnx_scores = probabilities(test["tflite"], task), probabilities(test["onnx"], task)

    def measure(scores: np.ndarray, targets: np.ndarray, rule: Thresholds, per_class: bool = False) -> dict:
        return classification_metrics(scores, targets, task, labels=data.labels if per_class else None,
                                      decisions=rule.decide(scores))

    report: dict[str, Any] = {
        "objective": cfg.objective if cfg.objective != "fbeta" else f"f{cfg.beta:g}",
        "thresholds": {"global": tuned.global_threshold, "per_class": dict(zip(data.labels, tuned.per_class,
                                                                                strict=True)),
                       "kind": tuned.kind},
        "val": {"flat": measure(val_scores, val_targets, flat), "tuned": measure(val_scores, val_targets, tuned)},
        "test": {"flat": measure(test_scores, test_targets, flat),
                 "tuned": measure(test_scores, test_targets, tuned, per_class=True),
                 "onnx_int8_tuned": measure(onnx_scores, test_targets, tuned),
                 "images": len(test_targets)},
    }
    gain = 100 * (report["test"]["tuned"][PRIMARY_METRIC] - report["test"]["flat"][PRIMARY_METRIC])
    report["test_gain_points"] = round(gain, 4)
    report["val_gain_points"] = round(100 * (report["val"]["tuned"][PRIMARY_METRIC]
                                             - report["val"]["flat"][PRIMARY_METRIC]), 4)
    report["miscalibration_warning"] = gain > GAIN_WARNING_POINTS
    if report["miscalibration_warning"]:
        log.warning("tuning gained %.1f points of test %s (> %.0f): the model looks miscalibrated; check training",
                    gain, PRIMARY_METRIC, GAIN_WARNING_POINTS)
    decisions = {"tflite": tuned.decide(test_scores), "onnx": tuned.decide(onnx_scores)}
    report["test"]["tflite_onnx_agreement"] = agreement(decisions["tflite"], decisions["onnx"])
    rule = {"task": task, **asdict(tuned), "labels": data.labels, "objective": report["objective"],
            "chosen_on": "val", "val_" + PRIMARY_METRIC: report["val"]["tuned"][PRIMARY_METRIC]}
    write_plots(plots, task, data.labels, val_scores, val_targets, test_scores, test_targets, flat, tuned)
    val, test = report["val"], report["test"]
    headline = (f"val {PRIMARY_METRIC}: {val['flat'][PRIMARY_METRIC]:.4f} at the default rule -> "
                f"{val['tuned'][PRIMARY_METRIC]:.4f} tuned; test: {test['flat'][PRIMARY_METRIC]:.4f} -> "
                f"{test['tuned'][PRIMARY_METRIC]:.4f} ({report['test_gain_points']:+.2f} points)")
    return Evaluation(report, rule, decisions, record_only=("thresholds.per_class", "test.tuned.per_class"),
                      headline=headline)
