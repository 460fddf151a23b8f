"""The evaluation plots: the confusion view of both label modes, and class names that stay legible."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distillery.tasks.classification import plots
from distillery.tasks.classification.thresholds import Thresholds

NAMES_20 = [f"{word:<14}{i:06d}"[:20].replace(" ", "_") for i, word in
            enumerate(["stainless_bottle", "ceramic_mug", "wooden_spoon", "glass_jar", "cotton_towel", "steel_pan",
                       "paper_box", "leather_bag", "rubber_duck", "silk_scarf", "wool_socks", "linen_shirt"])]


@pytest.fixture(autouse=True)
def _agg(tmp_path) -> None:
    os.environ.setdefault("MPLCONFIGDIR", str(tmp_path / "mpl"))
    import matplotlib

    matplotlib.use("Agg")


def overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2) if a.overlaps(b)]


def test_confusion_matrix_names_of_20_characters_are_drawn_apart(tmp_path) -> None:
    assert all(len(name) == 20 for name in NAMES_20)
    rows = [{"actual": a, "predicted": p} for a in NAMES_20 for p in NAMES_20[:3]]
    figure = plots.confusion_figure(NAMES_20, rows)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axis = figure.axes[0]
    x_boxes = [label.get_window_extent(renderer) for label in axis.get_xticklabels()]
    y_boxes = [label.get_window_extent(renderer) for label in axis.get_yticklabels()]
    assert len(x_boxes) == len(y_boxes) == len(NAMES_20)
    assert overlapping(x_boxes) == [] and overlapping(y_boxes) == []
    matrix_area = axis.get_window_extent(renderer)
    assert not any(box.overlaps(matrix_area) for box in x_boxes + y_boxes)
    target = tmp_path / "confusion.png"
    plots.save_figure(figure, target)
    width, height = Image.open(target).size
    dpi_scale = 110 / figure.dpi  # save_figure renders at 110 dpi, tight around every label
    longest = max(box.width for box in y_boxes) * dpi_scale
    assert width > longest + matrix_area.width * dpi_scale and height > matrix_area.height * dpi_scale


def test_single_label_confusion_pairs_each_image_with_its_top_class() -> None:
    targets = np.eye(3, dtype=np.uint8)[[0, 1, 2, 2]]
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.1, 0.3], [0.0, 0.2, 0.8]])
    rows = plots.single_label_confusion_rows(["a", "b", "c"], scores, targets)
    assert [(r["actual"], r["predicted"]) for r in rows] == [("a", "a"), ("b", "b"), ("c", "a"), ("c", "c")]


def test_multi_label_confusion_pairs_hits_misses_and_false_alarms() -> None:
    labels = ["a", "b", "c"]
    targets = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.uint8)
    decisions = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=np.uint8)
    rows = plots.multi_label_confusion_rows(labels, decisions, targets)
    assert [(r["actual"], r["predicted"]) for r in rows] == [
        ("a", "a"), ("b", "c"),  # a hit; b missed and c predicted instead
        ("a", "a"),  # a hit, nothing else
        ("(none)", "c"),  # a false alarm on an image without labels
        ("b", "(none)"),  # a miss with nothing predicted
        ("(none)", "(none)"),  # nothing there, nothing predicted
    ]


def test_every_run_writes_the_confusion_files_of_its_mode(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    for task, targets in (("single_label", np.eye(3, dtype=np.uint8)[rng.integers(0, 3, 40)]),
                          ("multi_label", (rng.random((40, 3)) < 0.4).astype(np.uint8))):
        scores, rule = rng.random((40, 3)), Thresholds.flat(task, 3)
        out = tmp_path / task
        plots.write_plots(out, task, labels, scores, targets, scores, targets, rule, rule)
        assert {"confusion.csv", "confusion_matrix.png"} <= {p.name for p in out.iterdir()}
        header, *rows = (out / "confusion.csv").read_text().splitlines()
        assert header == "actual,predicted" and rows
