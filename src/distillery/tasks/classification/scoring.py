"""Classification's ``scoring`` part: metrics of logits, decisions at the default or a tuned rule, agreement."""

from __future__ import annotations

from typing import Any

import numpy as np

from distillery.data.prepared import PreparedDataset
from distillery.tasks.classification import metrics
from distillery.tasks.classification.thresholds import Thresholds


def score(outputs: np.ndarray, targets: np.ndarray, data: PreparedDataset) -> dict[str, Any]:
    return metrics.classification_metrics(metrics.probabilities(outputs, data.task), np.asarray(targets), data.task)


def decide(outputs: np.ndarray, data: PreparedDataset, rule: dict[str, Any] | None = None) -> np.ndarray:
    scores = metrics.probabilities(outputs, data.task)
    if rule is None:
        return metrics.decide(scores, data.task)
    return Thresholds(data.task, rule["global_threshold"], rule["per_class"]).decide(scores)


agreement = metrics.agreement
