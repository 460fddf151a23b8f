"""Restoration data: deterministic degradation, the two layouts, the problem lines, the store and its crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distillery import config
from distillery.config import Degradation, RestorationData, TilesConfig
from distillery.errors import ConfigError, DataError
from distillery.tasks.restoration.dataset import RestorationStore, parity_input_name
from distillery.tasks.restoration.degrade import degrade
from distillery.tasks.restoration.store import prepare_store
from tests.conftest import REPO, write_png

SIGMA25 = Degradation(noise_sigma=25.0, blur_sigma=0.0, jpeg_quality=0)
TILES = TilesConfig(size=24, overlap=4)


def data_cfg(**overrides) -> RestorationData:
    """params.yaml's restoration data section, with small crops, quarter splits and every problem an error."""
    base = {"crop_size": 16, "val_fraction": 0.25, "test_fraction": 0.25, "on_problem.duplicate": "error"}
    merged = {f"restoration.data.{key}": value for key, value in {**base, **overrides}.items()}
    return config.load(REPO / "params.yaml", merged).restoration.data


def clean_dataset(root: Path, count: int = 8, size: tuple[int, int] = (40, 32)) -> Path:
    for i in range(count):
        write_png(root / "clean" / f"img{i}.png", seed=100 + i, size=size)
    return root


def paired_dataset(root: Path, splits: dict[str, int]) -> Path:
    """Split folders of pairs (degraded as BMP: names match without the suffix); degraded = clean + 7."""
    seed = 0
    for split, count in splits.items():
        for _ in range(count):
            seed += 1
            clean = write_png(root / split / "clean" / f"p{seed}.png", seed=seed, size=(36, 28))
            pixels = np.asarray(Image.open(clean)).astype(int)
            (root / split / "degraded").mkdir(parents=True, exist_ok=True)
            shifted = np.clip(pixels + 7, 0, 255).astype(np.uint8)
            Image.fromarray(shifted).save(root / split / "degraded" / f"p{seed}.bmp")
    return root


def test_degradation_is_seeded_per_image_name() -> None:
    clean = np.full((64, 64, 3), 128, dtype=np.uint8)
    first, again = degrade(clean, SIGMA25, 7, "a"), degrade(clean, SIGMA25, 7, "a")
    assert np.array_equal(first, again)
    assert not np.array_equal(first, degrade(clean, SIGMA25, 7, "b"))
    assert not np.array_equal(first, degrade(clean, SIGMA25, 8, "a"))
    assert abs(float(np.std(first.astype(float) - 128)) - 25) < 1.0


def test_blur_and_jpeg_degrade_in_order_and_keep_the_shape() -> None:
    clean = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    blurred = degrade(clean, Degradation(0.0, 2.0, 0), 0, "x")
    assert blurred.shape == clean.shape and blurred.std() < clean.std()
    jpeg = degrade(clean, Degradation(0.0, 0.0, 10), 0, "x")
    assert jpeg.shape == clean.shape and not np.array_equal(jpeg, clean)


def test_config_names_the_bad_key() -> None:
    with pytest.raises(ConfigError, match=r"restoration.data.degradation.noise_sigma: 300.0 is out of range"):
        data_cfg(**{"degradation.noise_sigma": 300.0})
    with pytest.raises(ConfigError, match=r"restoration.data.layout: 'folders' is not allowed; choose one of: auto, "
                                          r"pairs, clean"):
        data_cfg(layout="folders")


def test_clean_layout_splits_whole_images_and_degrades_deterministically(tmp_path: Path) -> None:
    raw = clean_dataset(tmp_path / "raw")
    metrics = prepare_store(data_cfg(), TILES, raw, tmp_path / "store", seed=3)
    assert metrics["layout"] == "clean" and metrics["images"] == {"train": 4, "val": 2, "test": 2}
    store = RestorationStore(tmp_path / "store")
    again = prepare_store(data_cfg(), TILES, raw, tmp_path / "again", seed=3)
    assert again == metrics
    assert (tmp_path / "store" / "degraded.u8").read_bytes() == (tmp_path / "again" / "degraded.u8").read_bytes()
    image = store.split("train")[0]
    assert store.clean(image).shape == (32, 40, 3)
    assert np.array_equal(store.clean(image), np.asarray(Image.open(raw / image.clean)))
    assert not np.array_equal(store.degraded(image), store.clean(image))
    for test_image in store.split("test"):
        saved = np.asarray(Image.open(tmp_path / "store" / "test" / parity_input_name(test_image)))
        assert np.array_equal(saved, store.degraded(test_image))


def test_pairs_in_split_folders_match_by_name_and_crops_stay_aligned(tmp_path: Path) -> None:
    raw = paired_dataset(tmp_path / "raw", {"train": 3, "val": 1, "test": 1})
    metrics = prepare_store(data_cfg(), TILES, raw, tmp_path / "store", seed=0)
    assert metrics["layout"] == "pairs" and metrics["images"] == {"train": 3, "val": 1, "test": 1}
    store = RestorationStore(tmp_path / "store")
    degraded, clean = next(store.crops("train", crop=16, batch=6, rng=np.random.default_rng(1)))
    assert degraded.shape == clean.shape == (6, 16, 16, 3) and degraded.dtype == np.uint8
    shift = degraded.astype(int) - clean  # the +7 survives every crop, flip and turn where nothing clipped
    assert np.all(shift[clean.astype(int) + 7 <= 255] == 7)
    again, _ = next(store.crops("train", crop=16, batch=6, rng=np.random.default_rng(1)))
    assert np.array_equal(again, degraded)


@pytest.mark.parametrize(("damage", "expected"), [
    ("size", r"size_mismatch: train/degraded/p1.bmp \(20x20 but its partner train/clean/p1.png is 36x28\)"),
    ("partner", r"missing_partner: train/clean/p1.png \(no partner named p1.\* in train/degraded/\)"),
    ("small", r"too_small: train/clean/p1.png \(12x10 is smaller than data.crop_size=16\)"),
    ("corrupt", r"unreadable: train/clean/p1.png \(.*\)"),
])
def test_each_bad_input_is_one_line_naming_the_file(tmp_path: Path, damage: str, expected: str) -> None:
    raw = paired_dataset(tmp_path / "raw", {"train": 2, "val": 1, "test": 1})
    clean, degraded = raw / "train" / "clean" / "p1.png", raw / "train" / "degraded" / "p1.bmp"
    if damage == "size":
        write_png(degraded, seed=5, size=(20, 20))
    elif damage == "partner":
        degraded.unlink()
    elif damage == "small":
        write_png(clean, seed=5, size=(12, 10))
        write_png(degraded, seed=5, size=(12, 10))
    else:
        clean.write_bytes(clean.read_bytes()[:60])
    with pytest.raises(DataError, match=expected) as caught:
        prepare_store(data_cfg(), TILES, raw, tmp_path / "store", seed=0)
    assert "\n" not in str(caught.value) and not (tmp_path / "store").exists()


def test_dropped_problems_are_counted_and_duplicates_never_cross_splits(tmp_path: Path) -> None:
    raw = paired_dataset(tmp_path / "raw", {"train": 3, "val": 1, "test": 1})
    for side, suffix in (("clean", "png"), ("degraded", "bmp")):
        (raw / "test" / side / f"copy.{suffix}").write_bytes((raw / "train" / side / f"p1.{suffix}").read_bytes())
    with pytest.raises(DataError, match=r"cross_split_duplicate: test/clean/copy.png \(same pixels as "
                                        r"train/clean/p1.png \(train\) in test\)"):
        prepare_store(data_cfg(), TILES, raw, tmp_path / "store", seed=0)
    cfg = data_cfg(**{"on_problem.cross_split_duplicate": "drop"})
    metrics = prepare_store(cfg, TILES, raw, tmp_path / "store", seed=0)
    assert metrics["dropped"]["cross_split_duplicate"] == 1 and metrics["images"]["test"] == 1


def test_a_split_left_empty_says_which(tmp_path: Path) -> None:
    raw = clean_dataset(tmp_path / "raw", count=2)
    with pytest.raises(DataError, match=r"no usable image in the val, test split\(s\) \(2 usable in all\)"):
        prepare_store(data_cfg(), TILES, raw, tmp_path / "store", seed=0)


def test_no_clean_folder_says_what_the_layout_is(tmp_path: Path) -> None:
    write_png(tmp_path / "raw" / "photos" / "a.png", seed=1)
    with pytest.raises(DataError, match=r"no clean/ folder"):
        prepare_store(data_cfg(), TILES, tmp_path / "raw", tmp_path / "store", seed=0)
