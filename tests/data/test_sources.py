import pytest

from distillery.data.sources import Item, parse_labels, read_items
from distillery.errors import DataError
from tests.conftest import write_csv_dataset, write_png


def test_parse_labels() -> None:
    assert parse_labels("b;a") == ("b", "a")
    assert parse_labels("  ") == ()
    assert parse_labels("a;;b") == ("a", "", "b")


def test_class_folders(tmp_path) -> None:
    write_png(tmp_path / "cat" / "1.png", 1)
    write_png(tmp_path / "dog" / "sub" / "2.jpg", 2)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    items = read_items(tmp_path, "auto", "manifest.csv")
    assert [(i.path, i.labels, i.split) for i in items] == [
        ("cat/1.png", ("cat",), None), ("dog/sub/2.jpg", ("dog",), None),
    ]


def test_split_class_folders(tmp_path) -> None:
    for split in ("train", "val", "test"):
        write_png(tmp_path / split / "cat" / "1.png", hash(split) % 100)
    items = read_items(tmp_path, "folders", "manifest.csv")
    assert sorted(i.split for i in items) == ["test", "train", "val"]


def test_csv_with_and_without_split(tmp_path) -> None:
    write_csv_dataset(tmp_path, [("a.png", "x;y", "train"), ("b.png", "", "val")])
    items = read_items(tmp_path, "auto", "manifest.csv")
    assert items == [
        Item("a.png", ("x", "y"), "train", "manifest.csv:2"),
        Item("b.png", (), "val", "manifest.csv:3"),
    ]


def test_csv_bad_header_and_bad_split(tmp_path) -> None:
    (tmp_path / "manifest.csv").write_text("file,label\na.png,x\n")
    with pytest.raises(DataError, match="must have columns 'path' and 'labels'"):
        read_items(tmp_path, "csv", "manifest.csv")
    (tmp_path / "manifest.csv").write_text("path,labels,split\na.png,x,training\n")
    with pytest.raises(DataError, match=r"manifest.csv:2: split 'training' must be one of"):
        read_items(tmp_path, "csv", "manifest.csv")


def test_split_files(tmp_path) -> None:
    (tmp_path / "train.txt").write_text("# comment\na.png x;y\n\nb.png\n")
    (tmp_path / "val.txt").write_text("c.png\tz\n")
    (tmp_path / "test.txt").write_text("d.png x\n")
    items = read_items(tmp_path, "auto", "manifest.csv")
    assert [(i.path, i.labels, i.split, i.origin) for i in items] == [
        ("a.png", ("x", "y"), "train", "train.txt:2"),
        ("b.png", (), "train", "train.txt:4"),
        ("c.png", ("z",), "val", "val.txt:1"),
        ("d.png", ("x",), "test", "test.txt:1"),
    ]


def test_missing_root_and_empty_root(tmp_path) -> None:
    with pytest.raises(DataError, match="dataset folder not found; run `make data`"):
        read_items(tmp_path / "nope", "auto", "manifest.csv")
    with pytest.raises(DataError, match="no manifest.csv, no train.txt"):
        read_items(tmp_path, "auto", "manifest.csv")
