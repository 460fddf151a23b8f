"""Evaluation plots: DVC data files (rendered by ``dvc plots show``) and PNGs for people and PRs.

- ``pr_curves.png``: per-class precision-recall on val with the chosen operating points;
- ``pr/class_<name>.csv``, ``pr/micro_average.csv``: the same curves as DVC plot data (interpolated
  precision on 101 recall levels), so ``dvc plots diff`` overlays two revisions' curves;
- ``per_class_f1.csv`` / ``.png``: test F1 per class at 0.5 and at the tuned thresholds;
- ``confusion.csv`` / ``confusion_matrix.png``: actual vs predicted on test, one row per pair
  (``confusion_rows`` says how a multi-label image becomes pairs).

Class names longer than a few characters are drawn upright, so names of 20 characters stay apart.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np

from distillery import atomic
from distillery.tasks.classification.metrics import f_beta, per_class_counts
from distillery.tasks.classification.thresholds import Thresholds

NONE = "(none)"  # the multi-label confusion's row and column for "no label"
RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


def write_plots(folder: Path, task: str, labels: list[str], val_scores: np.ndarray, val_targets: np.ndarray,
                test_scores: np.ndarray, test_targets: np.ndarray, flat: Thresholds, tuned: Thresholds) -> None:
    os.environ.setdefault("MPLCONFIGDIR", str(Path(".cache") / "matplotlib"))
    import matplotlib

    matplotlib.use("Agg")
    with atomic.atomic_dir(folder) as out:
        f1_rows = per_class_f1_rows(labels, test_scores, test_targets, flat, tuned)
        write_rows(out / "per_class_f1.csv", f1_rows)
        save_figure(per_class_f1_figure(f1_rows), out / "per_class_f1.png")
        save_figure(pr_figure(labels, val_scores, val_targets, tuned), out / "pr_curves.png")
        write_pr_data(out / "pr", labels, val_scores, val_targets)
        if task == "single_label":
            rows, names = single_label_confusion_rows(labels, test_scores, test_targets), labels
        else:
            rows, names = multi_label_confusion_rows(labels, tuned.decide(test_scores), test_targets), [*labels, NONE]
        write_rows(out / "confusion.csv", rows)
        save_figure(confusion_figure(names, rows), out / "confusion_matrix.png")


def write_rows(target: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(target, buffer.getvalue())


def save_figure(figure, target: Path) -> None:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    atomic.write_bytes(target, buffer.getvalue())


def per_class_f1_rows(labels, scores, targets, flat: Thresholds, tuned: Thresholds) -> list[dict]:
    """One row per class: test F1 at 0.5 (``f1_flat``) and at the tuned thresholds (``f1_tuned``)."""
    columns = {}
    for name, rule in (("f1_flat", flat), ("f1_tuned", tuned)):
        tp, fp, fn = per_class_counts(rule.decide(scores), targets)
        columns[name] = f_beta(tp, fp, fn)
    return [{"class": label, **{name: round(float(values[c]), 6) for name, values in columns.items()}}
            for c, label in enumerate(labels)]


def per_class_f1_figure(rows: list[dict]):
    import matplotlib.pyplot as plt

    labels = [r["class"] for r in rows]
    figure, axis = plt.subplots(figsize=(max(5, 0.5 * len(labels)), 3.5))
    width, x = 0.4, np.arange(len(labels))
    for offset, column in ((-width / 2, "f1_flat"), (width / 2, "f1_tuned")):
        axis.bar(x + offset, [r[column] for r in rows], width,
                 label="threshold 0.5" if column == "f1_flat" else "tuned thresholds")
    axis.set(xticks=x, ylabel="test F1", ylim=(0, 1), title="Per-class F1 (test)")
    category_xticklabels(axis, labels)
    axis.legend(loc="lower right")
    return figure


def interpolated_precision(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The best precision at recall >= r for each of ``RECALL_LEVELS`` (as VOC and COCO average precision)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(targets, scores)
    order = np.argsort(recall, kind="stable")
    recall, best_beyond = recall[order], np.maximum.accumulate(precision[order][::-1])[::-1]
    first = np.searchsorted(recall, RECALL_LEVELS, side="left")
    return np.where(first < len(recall), best_beyond[np.minimum(first, len(recall) - 1)], 0.0)


def file_safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", label)


def write_pr_data(folder: Path, labels, scores, targets) -> None:
    """One CSV per class with positives on val, and the micro-average over all (image, class) pairs."""
    folder.mkdir()
    curves = {f"class_{file_safe(label)}": (scores[:, c], targets[:, c])
              for c, label in enumerate(labels) if targets[:, c].any()}
    curves["micro_average"] = (scores.ravel(), targets.ravel())
    for name, (class_scores, class_targets) in curves.items():
        precision = interpolated_precision(class_scores, class_targets)
        write_rows(folder / f"{name}.csv", [{"recall": round(float(r), 2), "precision": round(float(p), 4)}
                                            for r, p in zip(RECALL_LEVELS, precision, strict=True)])


def pr_figure(labels, scores, targets, tuned: Thresholds):
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    columns = min(4, len(labels))  # 4 x 2.3 in at 110 dpi: ~1000 px, no page clips it
    rows = -(-len(labels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.2 * rows), squeeze=False,
                                layout="constrained")
    decisions = tuned.decide(scores)
    tp, fp, fn = per_class_counts(decisions, targets)
    for c, (axis, label) in enumerate(zip(axes.flat, labels, strict=False)):
        if targets[:, c].any():
            precision, recall, _ = precision_recall_curve(targets[:, c], scores[:, c])
            axis.plot(recall, precision, lw=1.2)
        axis.scatter([tp[c] / max(tp[c] + fn[c], 1)], [tp[c] / max(tp[c] + fp[c], 1)], color="red", zorder=3,
                     label=f"t={tuned.per_class[c]:.2f}")
        axis.set(title=f"class {label}", xlim=(0, 1.02), ylim=(0, 1.02))
        axis.legend(loc="lower left", fontsize=7)
    for axis in list(axes.flat)[len(labels):]:
        axis.axis("off")
    figure.supxlabel("recall")
    figure.supylabel("precision")
    figure.suptitle("Precision-recall on val; red: the chosen operating point")
    return figure


def category_xticklabels(axis, labels: list[str]) -> None:
    """Class names upright when any is longer than a few characters: long names never run into each other."""
    axis.set_xticklabels(labels, rotation=90 if max(map(len, labels)) > 3 else 0)


def single_label_confusion_rows(labels, scores, targets) -> list[dict]:
    """One (actual, predicted) pair per test image: the true class and the top-scoring one."""
    return [{"actual": labels[a], "predicted": labels[p]}
            for a, p in zip(targets.argmax(axis=1), scores.argmax(axis=1), strict=True)]


def multi_label_confusion_rows(labels, decisions, targets) -> list[dict]:
    """(actual, predicted) pairs of each test image's label sets, at the tuned thresholds.

    A label both present and predicted pairs with itself (the diagonal); each missed label pairs with
    each wrongly predicted label of the same image (what it was mistaken for), or with ``(none)`` when
    there is none; a wrong prediction with no missed label pairs as ``(none)`` -> it; an image with
    no label and no prediction is ``(none)`` -> ``(none)``. In the spirit of Heydarian et al. (2022),
    "MLCM: multi-label confusion matrix".
    """
    rows = []
    for actual_row, predicted_row in zip(targets.astype(bool), decisions.astype(bool), strict=True):
        hits = np.flatnonzero(actual_row & predicted_row)
        missed = [labels[c] for c in np.flatnonzero(actual_row & ~predicted_row)] or [NONE]
        extra = [labels[c] for c in np.flatnonzero(predicted_row & ~actual_row)] or [NONE]
        rows += [{"actual": labels[c], "predicted": labels[c]} for c in hits]
        if missed != [NONE] or extra != [NONE] or not len(hits):
            rows += [{"actual": a, "predicted": p} for a in missed for p in extra]
    return rows


def confusion_figure(names: list[str], rows: list[dict]):
    import matplotlib.pyplot as plt

    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)), dtype=int)
    for row in rows:
        matrix[index[row["actual"]], index[row["predicted"]]] += 1
    side = 1.5 + 0.45 * len(names)
    figure, axis = plt.subplots(figsize=(side, side))
    axis.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, str(count), ha="center", va="center", fontsize=7,
                  color="white" if count > matrix.max() / 2 else "black")
    axis.set(xticks=range(len(names)), yticks=range(len(names)), yticklabels=names,
             xlabel="predicted", ylabel="actual", title="Confusion matrix (test)")
    category_xticklabels(axis, names)
    return figure
