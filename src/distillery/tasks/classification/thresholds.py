"""Decision thresholds chosen on the validation split by a deterministic grid search.

Multi-label: one global threshold, then per-class thresholds by coordinate ascent on the same
objective (each class's threshold moved with the others fixed, classes in label order), shrunk
toward the global one by ``smoothing``; classes with fewer than ``min_support`` validation
positives keep the global value. Single-label: a confidence threshold below which the model
answers "unknown" (the reject option). Every candidate that would leave more than
``max_no_label_rate`` of the images without a label is refused. Ties go to the candidate
closest to 0.5 (multi-label) or to the lowest (reject), so the result never depends on float noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillery.config import ThresholdsConfig
from distillery.tasks.classification.metrics import f_beta, per_class_counts


@dataclass(frozen=True)
class Thresholds:
    """A decision rule: per-class thresholds (multi-label) or a reject threshold (single-label)."""

    task: str
    global_threshold: float
    per_class: list[float]

    @property
    def kind(self) -> str:
        """How an app applies the rule (inference_config.json and predict.py read it)."""
        return "reject_below" if self.task == "single_label" else "per_class"

    def decide(self, scores: np.ndarray) -> np.ndarray:
        if self.task == "single_label":
            best = scores.argmax(axis=1)
            accepted = scores.max(axis=1) >= self.global_threshold
            return (np.eye(scores.shape[1], dtype=bool)[best]) & accepted[:, None]
        return scores >= np.asarray(self.per_class)

    @classmethod
    def flat(cls, task: str, classes: int) -> Thresholds:
        """The untuned rule: 0.5 per class, or always answer (no reject) for single-label."""
        value = 0.0 if task == "single_label" else 0.5
        return cls(task, value, [value] * classes)


def objective_value(decisions: np.ndarray, targets: np.ndarray, cfg: ThresholdsConfig) -> float:
    tp, fp, fn = per_class_counts(decisions, targets)
    if cfg.objective == "micro_f1":
        return float(f_beta(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))[0])
    beta = cfg.beta if cfg.objective == "fbeta" else 1.0
    return float(f_beta(tp, fp, fn, beta).mean())


def no_label_rate(decisions: np.ndarray) -> float:
    return float((decisions.sum(axis=1) == 0).mean())


def grid(step: float) -> np.ndarray:
    """Candidate thresholds step, 2*step, ... < 1, rounded so that they print and compare exactly."""
    return np.round(np.arange(step, 1.0 - 1e-9, step), 6)


def _best(candidates: np.ndarray, evaluate, prefer) -> float | None:
    """The candidate with the highest objective (None if all are refused); ties broken by ``prefer``."""
    scored = [(value, -prefer(c), c) for c in candidates if (value := evaluate(c)) is not None]
    return float(max(scored)[2]) if scored else None


def tune(scores: np.ndarray, targets: np.ndarray, task: str, cfg: ThresholdsConfig) -> Thresholds:
    targets = targets.astype(bool)
    if task == "single_label":
        return tune_reject(scores, targets, cfg)
    candidates = grid(cfg.grid_step)

    def evaluate(per_class: np.ndarray) -> float | None:
        decisions = scores >= per_class
        if no_label_rate(decisions) > cfg.max_no_label_rate:
            return None
        return objective_value(decisions, targets, cfg)

    classes = scores.shape[1]
    global_t = _best(candidates, lambda t: evaluate(np.full(classes, t)), prefer=lambda t: abs(t - 0.5))
    if global_t is None:  # every threshold leaves too many images unlabelled: the lowest leaves the fewest
        global_t = float(candidates[0])
    current = np.full(classes, global_t)
    support = targets.sum(axis=0)
    for c in range(classes):
        if support[c] < cfg.min_support:
            continue

        def with_class(t: float, c: int = c) -> float | None:
            trial = current.copy()
            trial[c] = t
            return evaluate(trial)

        best = _best(candidates, with_class, prefer=lambda t: abs(t - global_t))
        if best is not None:
            current[c] = best
    shrunk = np.round(cfg.smoothing * global_t + (1 - cfg.smoothing) * current, 6)
    if evaluate(shrunk) is None:  # shrinking can only be refused by the no-label cap: keep the global rule
        shrunk = np.full(classes, global_t)
    return Thresholds(task, global_t, [float(t) for t in shrunk])


def tune_reject(scores: np.ndarray, targets: np.ndarray, cfg: ThresholdsConfig) -> Thresholds:
    classes = scores.shape[1]
    candidates = np.concatenate([[0.0], grid(cfg.grid_step)])

    def evaluate(t: float) -> float | None:
        decisions = Thresholds(task="single_label", global_threshold=t, per_class=[]).decide(scores)
        if t > 0 and no_label_rate(decisions) > cfg.max_no_label_rate:
            return None
        return objective_value(decisions, targets, cfg)

    best = _best(candidates, evaluate, prefer=lambda t: t)
    return Thresholds("single_label", best, [best] * classes)
