"""The hand-written F-scores (vectorised, shared by every stage) agree with scikit-learn's on random cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, fbeta_score, precision_recall_fscore_support

from distillery.tasks.classification.metrics import classification_metrics, f_beta, per_class_counts


@pytest.mark.parametrize("seed", range(5))
def test_multi_label_f1_and_per_class_precision_recall_match_sklearn(seed) -> None:
    rng = np.random.default_rng(seed)
    targets = (rng.random((200, 7)) < 0.3).astype(np.uint8)
    targets[:, 6] = 0  # a class without positives: F1 0 by convention, as sklearn's zero_division=0
    scores = np.clip(targets * 0.4 + rng.random((200, 7)) * 0.7, 0, 1)
    ours = classification_metrics(scores, targets, "multi_label", 0.5, labels=list("abcdefg"))
    decisions = scores >= 0.5
    assert ours["macro_f1"] == pytest.approx(f1_score(targets, decisions, average="macro", zero_division=0), abs=1e-6)
    assert ours["micro_f1"] == pytest.approx(f1_score(targets, decisions, average="micro", zero_division=0), abs=1e-6)
    precision, recall, f1, support = precision_recall_fscore_support(targets, decisions, zero_division=0)
    for c, label in enumerate("abcdefg"):
        row = ours["per_class"][label]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (precision[c], recall[c], f1[c], support[c]), abs=1e-6)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_f_beta_matches_sklearn(beta) -> None:
    rng = np.random.default_rng(int(beta * 10))
    targets = rng.random((300, 5)) < 0.4
    decisions = rng.random((300, 5)) < 0.5
    tp, fp, fn = per_class_counts(decisions, targets)
    expected = fbeta_score(targets, decisions, beta=beta, average=None, zero_division=0)
    np.testing.assert_allclose(f_beta(tp, fp, fn, beta), expected, atol=1e-12)


def test_single_label_macro_f1_and_accuracy_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 250)
    scores = rng.random((250, 4)) + np.eye(4)[truth] * 0.6
    ours = classification_metrics(scores, np.eye(4, dtype=np.uint8)[truth], "single_label")
    predicted = scores.argmax(axis=1)
    assert ours["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-6)
    assert ours["accuracy"] == pytest.approx((predicted == truth).mean(), abs=1e-6)
