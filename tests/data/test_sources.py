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
    items = read_items(tmp_path, "auto", "manifest.csv").items
    assert [(i.path, i.labels, i.split) for i in items] == [
        ("cat/1.png", ("cat",), None), ("dog/sub/2.jpg", ("dog",), None),
    ]


def test_split_class_folders(tmp_path) -> None:
    for split in ("train", "val", "test"):
        write_png(tmp_path / split / "cat" / "1.png", hash(split) % 100)
    items = read_items(tmp_path, "folders", "manifest.csv").items
    assert sorted(i.split for i in items) == ["test", "train", "val"]


def test_csv_with_and_without_split(tmp_path) -> None:
    write_csv_dataset(tmp_path, [("a.png", "x;y", "train"), ("b.png", "", "val")])
    items = read_items(tmp_path, "auto", "manifest.csv").items
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
    items = read_items(tmp_path, "auto", "manifest.csv").items
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


@pytest.mark.parametrize("folders", [("train", "val", "test", "stray"), ("train",), ("train", "test"),
                                     ("train", "val", "cat")])
def test_split_folders_beside_other_folders_or_incomplete_are_an_error(tmp_path, folders) -> None:
    for i, top in enumerate(folders):
        write_png(tmp_path / top / "cat" / f"{i}.png", i)
    with pytest.raises(DataError, match=r"found split folder\(s\) .* a folder layout is either class folders"):
        read_items(tmp_path, "auto", "manifest.csv")


def test_train_and_val_folders_without_test_are_a_split_layout(tmp_path) -> None:
    for i, split in enumerate(("train", "val")):
        write_png(tmp_path / split / "cat" / "1.png", i)
    items = read_items(tmp_path, "auto", "manifest.csv").items
    assert [(i.path, i.labels, i.split) for i in items] == [("train/cat/1.png", ("cat",), "train"),
                                                            ("val/cat/1.png", ("cat",), "val")]


def test_everything_skipped_is_listed_with_its_reason(tmp_path) -> None:
    import os

    write_png(tmp_path / "cat" / "1.png", 1)
    write_png(tmp_path / "cat" / ".hidden.png", 2)
    write_png(tmp_path / ".cache" / "3.png", 3)
    write_png(tmp_path / "..x" / "4.png", 4)
    write_png(tmp_path / "elsewhere" / "dog" / "5.png", 5)
    (tmp_path / "dog").symlink_to(tmp_path / "elsewhere" / "dog", target_is_directory=True)
    (tmp_path / "cat" / "linked").symlink_to(tmp_path / "elsewhere" / "dog", target_is_directory=True)
    (tmp_path / "cat" / "photo.jfif").write_bytes(b"jfif")
    os.mkfifo(tmp_path / "cat" / "pipe.png")
    (tmp_path / "empty").mkdir()
    listing = read_items(tmp_path, "folders", "manifest.csv")
    assert [i.path for i in listing.items] == ["cat/1.png", "elsewhere/dog/5.png"]
    skipped = "\n".join(listing.skipped)
    for expected in (".cache/ (hidden)", "..x/ (hidden)", "dog (symbolic link)", "cat/linked/ (symbolic link)",
                     "cat/.hidden.png (hidden file)", "cat/photo.jfif (not an image suffix",
                     "cat/pipe.png (not a regular file)", "empty/ (a class folder without images)"):
        assert expected in skipped, f"{expected!r} not reported in:\n{skipped}"


def test_manifest_with_a_byte_order_mark_or_in_latin1(tmp_path) -> None:
    (tmp_path / "manifest.csv").write_bytes("\ufeffpath,labels\na.png,x\n".encode())
    assert read_items(tmp_path, "csv", "manifest.csv").items == [Item("a.png", ("x",), None, "manifest.csv:2")]
    (tmp_path / "manifest.csv").write_bytes("path,labels\na.png,x\nb.png,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"manifest.csv:3: not UTF-8 \(byte 0xe9\); save the file as UTF-8"):
        read_items(tmp_path, "csv", "manifest.csv")
