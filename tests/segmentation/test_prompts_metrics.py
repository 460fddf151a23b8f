"""SAM's input geometry, box jitter, points inside masks; IoU, Dice and the box-fill baseline."""

from __future__ import annotations

import numpy as np
import pytest

from distillery.tasks.segmentation.metrics import box_fill, dice, iou
from distillery.tasks.segmentation.prompts import Geometry, jittered_box, points_in_mask


def test_the_longest_side_becomes_the_model_size_and_boxes_follow() -> None:
    geometry = Geometry(width=640, height=480, image_size=256)
    assert geometry.scale == 0.4 and geometry.resized == (256, 192)
    np.testing.assert_allclose(geometry.box((10, 20, 100, 50)), [4, 8, 44, 28])


def test_jitter_is_seeded_ordered_bounded_and_ten_percent_of_the_side() -> None:
    box = np.array([50, 60, 150, 110], dtype=np.float32)  # 100 x 50
    assert np.array_equal(jittered_box(box, np.random.default_rng(1)), jittered_box(box, np.random.default_rng(1)))
    rng = np.random.default_rng(0)
    draws = np.stack([jittered_box(box, rng, max_shift=1000) for _ in range(4000)])
    shifts = draws - box
    np.testing.assert_allclose(shifts.std(axis=0), [10, 5, 10, 5], rtol=0.08)
    assert np.abs(shifts.mean(axis=0)).max() < 0.5
    capped = np.stack([jittered_box(box, rng, max_shift=3, limit=152) for _ in range(500)])
    assert np.abs(capped - box).max() <= 3 + 1e-4 and capped.max() <= 152
    assert (capped[:, 2] >= capped[:, 0]).all() and (capped[:, 3] >= capped[:, 1]).all()


def test_points_fall_inside_the_mask_and_an_empty_mask_is_refused() -> None:
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:8, 10:25] = True
    points = points_in_mask(mask, 50, np.random.default_rng(0))
    assert points.shape == (50, 2) and mask[points[:, 1].astype(int), points[:, 0].astype(int)].all()
    with pytest.raises(ValueError, match="empty"):
        points_in_mask(np.zeros((4, 4), dtype=bool), 1, np.random.default_rng(0))


def test_iou_dice_and_the_box_fill_baseline() -> None:
    a = np.zeros((10, 10), dtype=bool)
    b = np.zeros((10, 10), dtype=bool)
    a[0:4, 0:4], b[2:6, 2:6] = True, True  # 4 shared pixels, 28 in the union
    assert iou(a, b) == pytest.approx(4 / 28) and dice(a, b) == pytest.approx(8 / 32)
    assert iou(a, a) == 1.0 and iou(a & False, b & False) == 1.0 and dice(a & False, a & False) == 1.0
    assert np.array_equal(box_fill(np.array([0, 0, 4, 4]), 10, 10), a)
    ys, xs = np.mgrid[0:200, 0:200] + 0.5
    disc = (xs - 100) ** 2 + (ys - 100) ** 2 <= 60**2
    assert iou(box_fill(np.array([40, 40, 160, 160]), 200, 200), disc) == pytest.approx(np.pi / 4, abs=0.01)
