"""Threshold tuning: deterministic, never worse than 0.5 on the data it tunes on, and honouring its limits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from distillery import config
from distillery.tasks.classification.metrics import classification_metrics
from distillery.tasks.classification.thresholds import Thresholds, grid, no_label_rate, objective_value, tune

CFG = config.load().thresholds


def miscalibrated_scores(n: int = 600, classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Multi-label scores whose best threshold differs per class (class c is under-confident by c/10)."""
    rng = np.random.default_rng(seed)
    targets = rng.random((n, classes)) < 0.3
    noise = rng.normal(0, 0.15, (n, classes))
    shift = np.arange(classes) / 10
    return np.clip(np.where(targets, 0.7, 0.3) + noise - shift, 0, 1), targets


def test_tuned_thresholds_beat_or_match_a_flat_half_and_are_deterministic() -> None:
    scores, targets = miscalibrated_scores()
    rule = tune(scores, targets, "multi_label", CFG)
    assert rule == tune(scores, targets, "multi_label", CFG)
    flat = objective_value(scores >= 0.5, targets, CFG)
    assert objective_value(rule.decide(scores), targets, CFG) > flat + 0.01
    assert rule.per_class[3] < rule.per_class[0]  # the most under-confident class gets the lowest threshold
    assert all(t in set(np.round(np.arange(0, 1, 0.005), 6)) for t in rule.per_class)


def test_smoothing_one_gives_the_global_threshold_everywhere() -> None:
    scores, targets = miscalibrated_scores()
    rule = tune(scores, targets, "multi_label", replace(CFG, smoothing=1.0))
    assert rule.per_class == [rule.global_threshold] * 4


def test_classes_with_little_support_keep_the_global_threshold() -> None:
    scores, targets = miscalibrated_scores()
    targets[:, 2] = False
    targets[:3, 2] = True
    rule = tune(scores, targets, "multi_label", replace(CFG, min_support=10, smoothing=0.0))
    assert rule.per_class[2] == rule.global_threshold
    assert rule.per_class[3] != rule.global_threshold


def test_the_no_label_cap_is_honoured() -> None:
    scores, targets = miscalibrated_scores()
    free = tune(scores, targets, "multi_label", CFG)
    capped = tune(scores, targets, "multi_label", replace(CFG, max_no_label_rate=0.1))
    assert no_label_rate(free.decide(scores)) > 0.1
    assert no_label_rate(capped.decide(scores)) <= 0.1


def test_reject_threshold_for_single_label_refuses_wrong_low_confidence_answers() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 400)
    confident = rng.random(400) < 0.7
    predicted = np.where(confident, truth, (truth + 1) % 3)
    scores = np.full((400, 3), 0.1)
    scores[np.arange(400), predicted] = np.where(confident, 0.8, 0.45)
    targets = np.eye(3, dtype=bool)[truth]
    rule = tune(scores, targets, "single_label", CFG)
    assert 0.45 < rule.global_threshold <= 0.8
    decisions = rule.decide(scores)
    assert no_label_rate(decisions) == pytest.approx(0.3, abs=0.06)
    tuned = classification_metrics(scores, targets, "single_label", decisions=decisions)
    flat = classification_metrics(scores, targets, "single_label", decisions=Thresholds.flat("single_label", 3)
                                  .decide(scores))
    assert tuned["macro_f1"] > flat["macro_f1"] and flat["no_label_rate"] == 0.0


def test_objectives_differ_where_they_should() -> None:
    decisions = np.array([[1, 0], [1, 0], [0, 0]], dtype=bool)
    targets = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    assert objective_value(decisions, targets, replace(CFG, objective="macro_f1")) == pytest.approx(0.5)
    assert objective_value(decisions, targets, replace(CFG, objective="micro_f1")) == pytest.approx(0.8)
    recall_heavy = objective_value(decisions, targets, replace(CFG, objective="fbeta", beta=2.0))
    assert recall_heavy == pytest.approx(0.5)
    assert grid(0.25).tolist() == [0.25, 0.5, 0.75]
