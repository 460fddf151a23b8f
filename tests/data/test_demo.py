import csv
import filecmp

import numpy as np

from distillery.data.demo import DemoSpec, load_scans, split_scans, write_folders, write_multilabel

SPEC = DemoSpec(counts=(30, 6, 6), seed=5)


def test_every_scan_belongs_to_exactly_one_split() -> None:
    _, targets = load_scans()
    parts = split_scans(targets, seed=0)
    joined = np.concatenate(list(parts.values()))
    assert len(joined) == len(set(joined.tolist())) == len(targets) == 1797
    for digit in range(10):
        assert (targets[parts["val"]] == digit).sum() >= 15


def test_multilabel_demo_is_deterministic_and_well_formed(tmp_path) -> None:
    assert write_multilabel(tmp_path / "a", SPEC) == 42
    write_multilabel(tmp_path / "b", SPEC)
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    assert filecmp.cmp(tmp_path / "a/images/train/train_00007.png", tmp_path / "b/images/train/train_00007.png",
                       shallow=False)
    with open(tmp_path / "a" / "manifest.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["split"] for r in rows].count("val") == 6
    for row in rows:
        labels = row["labels"].split(";")
        assert 1 <= len(labels) <= 3 and labels == sorted(set(labels))
        assert all(label in "0123456789" for label in labels)
    assert len({r["labels"] for r in rows}) > 10


def test_folder_variant_is_single_label(tmp_path) -> None:
    write_folders(tmp_path / "f", DemoSpec(counts=(40, 0, 0), seed=1))
    classes = sorted(p.name for p in (tmp_path / "f").iterdir())
    assert set(classes) <= set("0123456789") and len(classes) >= 8
    assert sum(1 for _ in (tmp_path / "f").rglob("*.png")) == 40
