"""The generated cells dataset: valid COCO that the reader takes without a problem, both mask formats, seeded."""

from __future__ import annotations

import numpy as np

from distillery.tasks.segmentation.cells import CellSpec, write_cells
from distillery.tasks.segmentation.coco import CocoProblemPolicy, decode_mask, read_coco


def files(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_cells_are_clean_coco_with_polygons_and_rle_and_masks_inside_their_boxes(tmp_path) -> None:
    spec = CellSpec(counts=(6, 2, 2), size=64)
    assert write_cells(tmp_path / "cells", spec) == 10
    listing = read_coco(tmp_path / "cells", CocoProblemPolicy())
    assert not listing.report.errors and not listing.report.dropped and listing.crowd_skipped == 0
    assert listing.categories == ("cell", "nucleus")
    assert [sum(i.split == s for i in listing.images) for s in ("train", "val", "test")] == [6, 2, 2]
    instances = [(image, instance) for image in listing.images for instance in image.instances]
    assert {type(instance.segmentation) for _, instance in instances} == {list, dict}
    assert {instance.category for _, instance in instances} == {"cell", "nucleus"}
    for image, instance in instances:
        mask = decode_mask(instance.segmentation, image.height, image.width)
        x, y, w, h = instance.box
        ys, xs = np.nonzero(mask)
        assert xs.min() >= np.floor(x) - 1 and xs.max() <= np.ceil(x + w) and ys.max() <= np.ceil(y + h)


def test_the_same_seed_writes_the_same_bytes_and_shapes_are_another_style(tmp_path) -> None:
    spec = CellSpec(counts=(3, 1, 1), size=48, seed=3)
    write_cells(tmp_path / "a", spec)
    write_cells(tmp_path / "b", spec)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    write_cells(tmp_path / "shapes", CellSpec(counts=(3, 1, 1), size=48, seed=3, style="shapes"))
    assert read_coco(tmp_path / "shapes", CocoProblemPolicy()).categories == ("object",)
