"""prepare_dataset end to end on tiny datasets, and every validator with its policy."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zlib

import numpy as np
import pytest
from PIL import Image

from distillery import config
from distillery.data.prepare import prepare_dataset
from distillery.data.prepared import PreparedDataset
from distillery.errors import DataError
from tests.conftest import REPO, multilabel_rows, write_csv_dataset, write_png

SPLITS = {"train": 24, "val": 9, "test": 9}


def data_cfg(**overrides):
    dotted = {f"data.{k}": v for k, v in overrides.items()}
    dotted.setdefault("data.min_images_per_class", 1)
    return config.load(REPO / "params.yaml", overrides=dotted).data


def all_drop(**extra):
    kinds = config.ProblemPolicy.__dataclass_fields__
    return data_cfg(**{f"on_problem.{k}": "drop" for k in kinds}, **extra)


def test_csv_dataset_with_splits(tmp_path) -> None:
    root = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", SPLITS))
    result = prepare_dataset(data_cfg(image_size=16), root, tmp_path / "out", seed=0)
    assert result.metrics["task"] == "multi_label"
    assert result.metrics["images"] == SPLITS
    data = PreparedDataset.open(tmp_path / "out")
    assert data.labels == ["a", "b", "c"]
    assert (tmp_path / "out" / "labels.txt").read_text() == "a\nb\nc\n"
    train = data.split("train")
    assert train.images.shape == (24, 16, 16, 3) and train.images.dtype == np.uint8
    assert train.labels.shape == (24, 3) and set(train.labels.sum(1)) == {1, 2}
    assert len(data.manifest["fingerprint"]) == 64


def test_the_image_is_the_letterbox_of_the_source(tmp_path) -> None:
    root = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", SPLITS))
    prepare_dataset(data_cfg(image_size=16, pad_value=9), root, tmp_path / "out", seed=0)
    data = PreparedDataset.open(tmp_path / "out")
    first = Image.open(root / "img/train_0.png").convert("RGB")
    assert np.array_equal(data.split("train").images[0], data.letterbox.apply(first))
    assert (data.split("train").images[0][:1] == 9).all()


def test_fingerprint_is_deterministic_and_content_sensitive(tmp_path) -> None:
    root = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", SPLITS))
    first = prepare_dataset(data_cfg(), root, tmp_path / "a", seed=0).manifest["fingerprint"]
    assert prepare_dataset(data_cfg(), root, tmp_path / "b", seed=0).manifest["fingerprint"] == first
    write_png(root / "img/val_3.png", 999)
    assert prepare_dataset(data_cfg(), root, tmp_path / "c", seed=0).manifest["fingerprint"] != first


def test_class_folders_are_split_stratified(tmp_path) -> None:
    for cls in "xyz":
        for i in range(20):
            write_png(tmp_path / "raw" / cls / f"{i}.png", hash((cls, i)) % 10**6)
    result = prepare_dataset(data_cfg(), tmp_path / "raw", tmp_path / "out", seed=0)
    assert result.metrics["task"] == "single_label"
    assert result.metrics["images"] == {"train": 48, "val": 6, "test": 6}
    assert result.metrics["class_counts"]["val"] == {"x": 2, "y": 2, "z": 2}


def test_csv_without_splits_uses_iterative_stratification(tmp_path) -> None:
    rows = [(p, lab, None) for p, lab, _ in multilabel_rows(tmp_path / "raw", {"all": 100})]
    root = write_csv_dataset(tmp_path / "raw", rows)
    images = prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0).metrics["images"]
    assert sum(images.values()) == 100
    assert abs(images["train"] - 80) <= 1 and abs(images["val"] - 10) <= 1 and abs(images["test"] - 10) <= 1


def _truncated_png(path) -> None:
    write_png(path, 4242, size=(64, 64))
    path.write_bytes(path.read_bytes()[:200])


def _bomb_png(path) -> None:
    """A valid PNG header claiming 30000 x 30000 pixels (no pixel data needed to refuse it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


@pytest.fixture
def bad_dataset(tmp_path):
    """A valid dataset plus one item of every problem kind, each naming its file."""
    root = tmp_path / "raw"
    rows = multilabel_rows(root, SPLITS)
    (root / "bad").mkdir()
    (root / "bad" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    (root / "bad" / "empty.png").write_bytes(b"")
    _truncated_png(root / "bad" / "truncated.png")
    _bomb_png(root / "bad" / "bomb.png")
    write_png(root / "bad" / "tiny.png", 77, size=(4, 30))
    (tmp_path / "outside.png").write_bytes((root / "img/train_0.png").read_bytes())
    write_png(root / "bad" / "dup_within.png", 1)  # same pixels as img/train_0.png (seed 1)
    write_png(root / "bad" / "leak.png", 2)  # same pixels as img/train_1.png, put in test
    write_png(root / "bad" / "unknown.png", 555)
    write_png(root / "bad" / "emptylabel.png", 556)
    rows += [
        ("bad/corrupt.png", "a", "train"),
        ("bad/empty.png", "a", "train"),
        ("bad/truncated.png", "a", "train"),
        ("bad/bomb.png", "a", "train"),
        ("bad/tiny.png", "a", "train"),
        ("../outside.png", "a", "train"),
        ("/etc/passwd", "a", "train"),
        ("bad/dup_within.png", "a", "train"),
        ("bad/leak.png", "b", "test"),
        ("bad/unknown.png", "zebra", "train"),
        ("bad/emptylabel.png", "a;;b", "train"),
    ]
    return write_csv_dataset(root, rows)


EXPECTED = {
    "bad/corrupt.png": "unreadable",
    "bad/empty.png": "unreadable",
    "bad/truncated.png": "unreadable",
    "bad/bomb.png": "unreadable",
    "bad/tiny.png": "too_small",
    "../outside.png": "outside_root",
    "/etc/passwd": "outside_root",
    "bad/dup_within.png": "duplicate",
    "bad/leak.png": "cross_split_duplicate",
    "bad/unknown.png": "unknown_label",
    "bad/emptylabel.png": "empty_label",
}


def test_policy_error_fails_with_a_report_naming_each_file(bad_dataset, tmp_path) -> None:
    kinds = config.ProblemPolicy.__dataclass_fields__
    cfg = data_cfg(labels=["a", "b", "c"], max_pixels=10**8,
                   **{f"on_problem.{k}": "error" for k in kinds})
    with pytest.raises(DataError) as err:
        prepare_dataset(cfg, bad_dataset, tmp_path / "out", seed=0)
    report = str(err.value)
    assert f"{len(EXPECTED)} problem(s) with policy 'error'" in report
    for path, kind in EXPECTED.items():
        assert f"{kind}: {path} (" in report, (path, kind)
    assert "zero-byte file" in report and "decompression bomb" in report
    assert "data.on_problem.unreadable: drop" in report
    assert not (tmp_path / "out").exists()


def test_policy_drop_drops_and_lists_each_file(bad_dataset, tmp_path) -> None:
    result = prepare_dataset(all_drop(labels=["a", "b", "c"], max_pixels=10**8), bad_dataset,
                             tmp_path / "out", seed=0)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {d["path"]: d["kind"] for d in report["dropped"]} == EXPECTED
    assert result.metrics["images"] == SPLITS
    assert result.metrics["dropped"]["unreadable"] == 4
    assert result.metrics["dropped"]["cross_split_duplicate"] == 1


def test_rare_class_error_and_drop(tmp_path) -> None:
    rows = multilabel_rows(tmp_path / "raw", SPLITS)
    write_png(tmp_path / "raw" / "rare.png", 9999)
    root = write_csv_dataset(tmp_path / "raw", rows + [("rare.png", "a;q", "train")])
    with pytest.raises(DataError, match=r"rare_class: q \(class 'q' has 1 image\(s\)"):
        prepare_dataset(data_cfg(min_images_per_class=2), root, tmp_path / "out", seed=0)
    result = prepare_dataset(
        data_cfg(min_images_per_class=2, **{"on_problem.rare_class": "drop"}), root, tmp_path / "out", seed=0
    )
    assert result.metrics["num_labels"] == 3 and result.metrics["images"]["train"] == 25


def test_empty_split_and_all_dropped(tmp_path) -> None:
    root = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", {"train": 5, "val": 2}))
    with pytest.raises(DataError, match="split 'test' is empty"):
        prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)
    for i in range(3):
        (root / f"img/train_{i}.png").write_bytes(b"")
    rows = [(f"img/train_{i}.png", "a", "train") for i in range(3)]
    root = write_csv_dataset(root, rows)
    with pytest.raises(DataError, match="every image was dropped"):
        prepare_dataset(all_drop(), root, tmp_path / "out", seed=0)


def test_partial_splits_are_refused(tmp_path) -> None:
    rows = multilabel_rows(tmp_path / "raw", SPLITS)
    rows[3] = (rows[3][0], rows[3][1], "")
    root = write_csv_dataset(tmp_path / "raw", rows)
    with pytest.raises(DataError, match="has no split while other items do"):
        prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)


def test_single_label_item_needs_exactly_one_label(tmp_path) -> None:
    rows = [(p, lab.split(";")[0], s) for p, lab, s in multilabel_rows(tmp_path / "raw", SPLITS)]
    rows[0] = (rows[0][0], "a;b", rows[0][2])
    root = write_csv_dataset(tmp_path / "raw", rows)
    with pytest.raises(DataError, match="single-label task needs exactly one label, got 2"):
        prepare_dataset(data_cfg(label_mode="single_label"), root, tmp_path / "out", seed=0)


def test_train_and_val_folders_get_a_test_split_drawn_from_train(tmp_path) -> None:
    seed = 0
    for split, count in (("train", 20), ("val", 4)):
        for cls in ("cat", "dog"):
            for i in range(count):
                seed += 1
                write_png(tmp_path / "raw" / split / cls / f"{i}.png", seed)
    result = prepare_dataset(data_cfg(test_fraction=0.2), tmp_path / "raw", tmp_path / "out", seed=0)
    assert result.metrics["images"] == {"train": 32, "val": 8, "test": 8}
    samples = (tmp_path / "out" / "samples.csv").read_text().splitlines()[1:]
    assert all(row.split(",")[1].startswith("train/") for row in samples if row.startswith("test,"))


def test_a_label_with_a_control_character_is_refused(tmp_path) -> None:
    for name in ("plain", "multi\nline"):
        for i in range(3):
            write_png(tmp_path / "raw" / name / f"{i}.png", hash((name, i)) % 1000)
    with pytest.raises(DataError, match=r"label 'multi\\nline' of .* has control characters"):
        prepare_dataset(data_cfg(), tmp_path / "raw", tmp_path / "out", seed=0)
    assert not (tmp_path / "out").exists()


def test_the_same_path_with_two_labels_is_an_error_naming_both(tmp_path) -> None:
    rows = multilabel_rows(tmp_path / "raw", SPLITS)
    rows.append((rows[0][0], "c", rows[0][2]))
    root = write_csv_dataset(tmp_path / "raw", rows)
    with pytest.raises(DataError, match=r"img/train_0.png is declared twice with different labels: a "
                                        r"\[manifest.csv:2\] and c \[manifest.csv:44\]"):
        prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)


def test_a_fifo_in_the_manifest_is_reported_not_waited_on(tmp_path) -> None:
    import os

    rows = multilabel_rows(tmp_path / "raw", SPLITS)
    os.mkfifo(tmp_path / "raw" / "img" / "pipe.png")
    root = write_csv_dataset(tmp_path / "raw", [*rows, ("img/pipe.png", "a", "train")])
    with pytest.raises(DataError, match=r"unreadable: img/pipe.png \(not a regular file\)"):
        prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)


def test_a_file_name_with_a_newline_cannot_forge_a_line(tmp_path) -> None:
    rows = multilabel_rows(tmp_path / "raw", SPLITS)
    name = "img/x\nprepare: error: forged.png"
    (tmp_path / "raw" / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "raw" / name).write_bytes(b"")
    root = write_csv_dataset(tmp_path / "raw", [*rows, (name, "a", "train")])
    with pytest.raises(DataError) as refused:
        prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)
    assert "\nprepare: error: forged" not in str(refused.value)
    assert repr(name) in str(refused.value)


def test_the_prepared_store_is_the_same_wherever_the_raw_folder_lives(tmp_path) -> None:
    first = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", SPLITS))
    moved = tmp_path / "elsewhere" / "deeper"
    moved.parent.mkdir()
    first.rename(moved)
    result_moved = prepare_dataset(data_cfg(), moved, tmp_path / "out_moved", seed=0)
    moved.rename(first)
    result = prepare_dataset(data_cfg(), first, tmp_path / "out", seed=0)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "test_files.tar" in files and files == sorted(p.name for p in (tmp_path / "out_moved").iterdir())
    for name in files:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "out_moved" / name).read_bytes(), name
    assert (result.metrics["source"], result_moved.metrics["source"]) == (str(first), str(moved))


def test_the_test_files_are_the_originals_in_the_test_arrays_order(tmp_path) -> None:
    root = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", SPLITS))
    prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)
    data = PreparedDataset.open(tmp_path / "out")
    with data.test_files() as files:
        originals = [row.split(",")[1] for row in (tmp_path / "out" / "samples.csv").read_text().splitlines()[1:]
                     if row.startswith("test,")]
        assert [f.read_bytes() for f in files] == [(root / rel).read_bytes() for rel in originals]
        assert len(files) == len(data.split("test"))
        unpacked = files[0].parent
    assert not unpacked.exists()


@pytest.mark.parametrize("entry", ["../escaped.png", "/tmp/escaped.png", "link"])
def test_a_test_files_archive_entry_that_is_not_a_dataset_file_is_refused(tmp_path, entry) -> None:
    root = write_csv_dataset(tmp_path / "raw", multilabel_rows(tmp_path / "raw", SPLITS))
    prepare_dataset(data_cfg(), root, tmp_path / "out", seed=0)
    archive_path = tmp_path / "out" / "test_files.tar"
    with tarfile.open(archive_path, "a") as archive:
        info = tarfile.TarInfo(entry)
        if entry == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(info, io.BytesIO(b""))
    store = PreparedDataset.open(tmp_path / "out")
    with pytest.raises(DataError, match=f"entry '{entry}' is not a file of the dataset"), store.test_files():
        pass
    assert not (tmp_path / "escaped.png").exists()
