"""The metric code every stage shares: training validation, quantized models and the test report.

Scores are probabilities: sigmoid per class for multi-label, softmax for single-label.
Decisions are ``score >= threshold`` per class (multi-label) or the arg-max (single-label).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

PRIMARY_METRIC = "macro_f1"


def probabilities(logits: torch.Tensor | np.ndarray, task: str) -> np.ndarray:
    logits = torch.as_tensor(logits, dtype=torch.float32)
    probs = torch.sigmoid(logits) if task == "multi_label" else torch.softmax(logits, dim=1)
    return probs.numpy()


def decide(scores: np.ndarray, task: str, thresholds: float | np.ndarray = 0.5) -> np.ndarray:
    """Boolean decisions (N, C) from scores (N, C)."""
    if task == "single_label":
        return np.eye(scores.shape[1], dtype=bool)[scores.argmax(axis=1)]
    return scores >= np.asarray(thresholds)


def per_class_counts(decisions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth = targets.astype(bool)
    tp = (decisions & truth).sum(axis=0)
    fp = (decisions & ~truth).sum(axis=0)
    fn = (~decisions & truth).sum(axis=0)
    return tp, fp, fn


def f_beta(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta: float = 1.0) -> np.ndarray:
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return np.where(denominator > 0, (1 + b2) * tp / np.maximum(denominator, 1), 0.0)


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    present = targets.sum(axis=0) > 0
    if not present.any():
        return 0.0
    return float(average_precision_score(targets[:, present], scores[:, present], average="macro"))


def classification_metrics(
    scores: np.ndarray, targets: np.ndarray, task: str, thresholds: float | np.ndarray = 0.5,
    labels: list[str] | None = None, decisions: np.ndarray | None = None,
) -> dict[str, Any]:
    """Headline metrics, plus per-class precision/recall/F1 when ``labels`` are given.

    ``decisions`` (from a tuned rule, e.g. with a reject option) replace the ``thresholds`` ones.
    """
    decisions = decide(scores, task, thresholds) if decisions is None else decisions
    tp, fp, fn = per_class_counts(decisions, targets)
    f1 = f_beta(tp, fp, fn)
    micro = f_beta(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))[0]
    metrics: dict[str, Any] = {"macro_f1": float(f1.mean()), "micro_f1": float(micro)}
    metrics["mAP"] = mean_average_precision(scores, targets)
    metrics["no_label_rate"] = float((decisions.sum(axis=1) == 0).mean())
    if task == "single_label":
        truth = targets.argmax(axis=1)
        top = np.argsort(-scores, axis=1)[:, : min(5, scores.shape[1])]
        metrics["accuracy"] = float((top[:, 0] == truth).mean())
        metrics["top5"] = float((top == truth[:, None]).any(axis=1).mean())
    if labels is not None:
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        metrics["per_class"] = {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, targets.sum(axis=0), strict=True)
        }
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()}


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """How often two sets of decisions agree: per label, and per whole image."""
    return {"labels": float((a == b).mean()), "images": float((a == b).all(axis=1).mean())}
