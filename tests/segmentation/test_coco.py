"""Segmentation data: COCO polygons and RLE read and decoded, every problem one line, splits by image."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from distillery.errors import DataError
from distillery.tasks.segmentation.coco import CocoProblemPolicy, assign_splits, decode_mask, read_coco
from tests.conftest import write_png

W, H = 40, 30
SQUARE = [10.0, 5.0, 20.0, 5.0, 20.0, 15.0, 10.0, 15.0]  # a 10x10 square, as x1, y1, x2, y2, ...


def rle_of(mask: np.ndarray) -> dict:
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": encoded["size"], "counts": encoded["counts"].decode()}


def document(images: int = 2) -> dict:
    """Images of W x H, each with a polygon 'cell' and an RLE 'nucleus'."""
    nucleus = np.zeros((H, W), dtype=np.uint8)
    nucleus[20:25, 2:8] = 1
    doc = {"images": [], "annotations": [],
           "categories": [{"id": 1, "name": "cell"}, {"id": 2, "name": "nucleus"}]}
    for i in range(1, images + 1):
        doc["images"].append({"id": i, "file_name": f"img_{i}.png", "width": W, "height": H})
        doc["annotations"].append({"id": 10 * i, "image_id": i, "category_id": 1, "bbox": [10, 5, 10, 10],
                                   "segmentation": [list(SQUARE)], "iscrowd": 0})
        doc["annotations"].append({"id": 10 * i + 1, "image_id": i, "category_id": 2, "bbox": [2, 20, 6, 5],
                                   "segmentation": rle_of(nucleus), "iscrowd": 0})
    return doc


def write_dataset(root: Path, doc: dict, split: str | None = None) -> Path:
    folder = root / split if split else root
    for i, image in enumerate(doc["images"]):
        write_png(folder / "images" / image["file_name"], 100 + i, (W, H))
    (folder / "annotations.json").write_text(json.dumps(doc))
    return root


def test_split_folders_read_with_polygons_and_rle_decoded(tmp_path) -> None:
    write_dataset(tmp_path, document(3), "train")
    write_dataset(tmp_path, document(1), "val")
    listing = read_coco(tmp_path, CocoProblemPolicy())
    assert listing.categories == ("cell", "nucleus") and not listing.report.errors
    assert [(image.path, image.split) for image in listing.images] == [
        ("train/images/img_1.png", "train"), ("train/images/img_2.png", "train"), ("train/images/img_3.png", "train"),
        ("val/images/img_1.png", "val")]
    cell, nucleus = listing.images[0].instances
    assert (cell.category, cell.box, nucleus.annotation_id) == ("cell", (10.0, 5.0, 10.0, 10.0), 11)
    assert decode_mask(cell.segmentation, H, W)[5:15, 10:20].all()
    assert decode_mask(nucleus.segmentation, H, W).sum() == 30


def test_uncompressed_rle_decodes_as_the_compressed_one() -> None:
    mask = np.zeros((H, W), dtype=np.uint8)
    mask[3:9, 4:30] = 1
    runs, value, flat = [], 0, mask.flatten(order="F")
    while flat.size:
        length = int(np.argmax(flat != value)) if (flat != value).any() else flat.size
        runs.append(length)
        flat, value = flat[length:], 1 - value
    assert np.array_equal(decode_mask({"size": [H, W], "counts": runs}, H, W), mask)
    assert np.array_equal(decode_mask(rle_of(mask), H, W), mask)


def broken(edit) -> dict:
    doc = document()
    edit(doc)
    return doc


PROBLEMS = {
    "missing image": (lambda d: d["images"][1].update(file_name="gone.png"),
                      "unreadable: images/gone.png (cannot read the image"),
    "size mismatch": (lambda d: d["images"][0].update(width=41),
                      "size_mismatch: images/img_1.png (the file is 40x30, annotations.json says 41x30)"),
    "annotation for a missing image": (lambda d: d["annotations"][0].update(image_id=7),
                                       "unknown_image: annotation 10 (image id 7 is not in images)"),
    "unknown category": (lambda d: d["annotations"][1].update(category_id=9),
                         "unknown_category: annotation 11 (category id 9 is not in categories)"),
    "degenerate polygon": (lambda d: d["annotations"][2].update(segmentation=[[1, 1, 5, 5]]),
                           "degenerate_polygon: annotation 20 (a polygon with 2 point(s); at least 3 are needed)"),
    "box outside the image": (lambda d: d["annotations"][2].update(bbox=[35, 5, 10, 10]),
                              "outside_image: annotation 20 (bbox [35, 5, 10, 10] is outside the 40x30 image)"),
    "polygon outside the image": (lambda d: d["annotations"][0].update(segmentation=[[1, 1, 60, 1, 60, 9]]),
                                  "outside_image: annotation 10 (a polygon reaches (60, 9)"),
    "RLE of another size": (lambda d: d["annotations"][1].update(segmentation=rle_of(np.ones((H, H)))),
                            "outside_image: annotation 11 (RLE size [30, 30] is not the image's [30, 40])"),
    "zero-area mask": (lambda d: d["annotations"][1].update(segmentation=rle_of(np.zeros((H, W)))),
                       "empty_mask: annotation 11 (the mask covers no pixel)"),
    "annotation id used twice": (lambda d: d["annotations"][3].update(id=10),
                                 "duplicate: annotation 10 (annotation id used twice)"),
    "image without annotations": (lambda d: d.update(annotations=d["annotations"][:2]),
                                  "no_annotations: images/img_2.png (no instance annotated)"),
}


@pytest.mark.parametrize("case", PROBLEMS, ids=list(PROBLEMS))
def test_each_problem_is_one_line_naming_the_file_or_annotation(tmp_path, case) -> None:
    edit, line = PROBLEMS[case]
    write_dataset(tmp_path, document())
    (tmp_path / "annotations.json").write_text(json.dumps(broken(edit)))
    listing = read_coco(tmp_path, CocoProblemPolicy())
    with pytest.raises(DataError) as raised:
        listing.report.raise_if_errors(tmp_path)
    message = str(raised.value)
    assert message.count("\n") == 0 and line in message and "[annotations.json]" in message, message


def test_drop_removes_only_the_bad_annotation_and_an_image_left_without_any(tmp_path) -> None:
    doc = document()
    doc["annotations"][2]["category_id"] = 9  # image 2 keeps its nucleus
    doc["annotations"][1]["segmentation"] = [[1, 1, 2, 2]]
    doc["annotations"][0]["bbox"] = [0, 0, 0, 4]  # image 1 loses both: no annotations left
    write_dataset(tmp_path, doc)
    policy = replace(CocoProblemPolicy(), unknown_category="drop", degenerate_polygon="drop", empty_mask="drop",
                     no_annotations="drop")
    listing = read_coco(tmp_path, policy)
    listing.report.raise_if_errors(tmp_path)
    assert [(image.path, [i.annotation_id for i in image.instances]) for image in listing.images] == [
        ("images/img_2.png", [21])]
    assert sorted(p.kind for p in listing.report.dropped) == [
        "degenerate_polygon", "empty_mask", "no_annotations", "unknown_category"]


def test_crowd_annotations_are_skipped_and_counted(tmp_path) -> None:
    doc = document()
    crowd = copy.deepcopy(doc["annotations"][1])
    doc["annotations"].append({**crowd, "id": 99, "iscrowd": 1})
    write_dataset(tmp_path, doc)
    listing = read_coco(tmp_path, CocoProblemPolicy())
    assert listing.crowd_skipped == 1 and sum(len(i.instances) for i in listing.images) == 4


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "not a readable JSON file"),
    (json.dumps({"images": [], "categories": []}), "no annotations list"),
    (json.dumps({"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}),
     "category id 1 is used twice"),
])
def test_an_unusable_annotations_file_is_named(tmp_path, content, says) -> None:
    (tmp_path / "annotations.json").write_text(content)
    with pytest.raises(DataError, match=says) as raised:
        read_coco(tmp_path, CocoProblemPolicy())
    assert str(tmp_path / "annotations.json") in str(raised.value)


def test_a_folder_without_annotations_says_what_a_coco_dataset_is(tmp_path) -> None:
    with pytest.raises(DataError, match=r"no annotations.json; a COCO dataset is \[<split>/\]annotations.json"):
        read_coco(tmp_path, CocoProblemPolicy())


def test_splits_are_by_whole_image_stratified_by_main_category_and_seeded(tmp_path) -> None:
    doc = document(20)
    for image_id in (1, 2, 3):  # three images whose main category is the rare 'nucleus'
        doc["annotations"] = [a for a in doc["annotations"] if not (a["image_id"] == image_id and
                                                                    a["category_id"] == 1)]
    write_dataset(tmp_path, doc)
    images = read_coco(tmp_path, CocoProblemPolicy()).images
    splits = assign_splits(images, 0.2, 0.2, seed=5)
    assert set(splits) == {image.path for image in images}
    rare = [splits[f"images/img_{i}.png"] for i in (1, 2, 3)]
    assert sorted(rare) == ["test", "train", "val"]  # the rare category reaches every split
    common = [splits[f"images/img_{i}.png"] for i in range(4, 21)]
    assert (common.count("val"), common.count("test")) == (3, 3)
    assert assign_splits(images, 0.2, 0.2, seed=5) == splits and assign_splits(images, 0.2, 0.2, seed=6) != splits
