"""Classification's ``export`` part: the bundle's metrics, files, inference config, parity and model card."""

from __future__ import annotations

from typing import Any

from distillery.tasks.classification.bundle import bundle_decisions, bundle_spec
from distillery.tasks.classification.card import model_card

__all__ = ["bundle_decisions", "bundle_metrics", "bundle_spec", "model_card"]


def bundle_metrics(evaluation: dict[str, Any]) -> dict[str, Any]:
    test = evaluation["test"]
    return {"tflite_int8": test["tuned"], "tflite_int8_flat": test["flat"], "onnx_int8": test["onnx_int8_tuned"],
            "images": test["images"]}
