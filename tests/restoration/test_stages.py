"""Restoration through the real stage entry points: bad inputs as a user meets them, and the store prepare writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from distillery.tasks import get_task
from tests.conftest import write_png
from tests.workdir import Workdir

pytestmark = pytest.mark.slow


def pairs_workdir(tmp_path: Path) -> Workdir:
    """The task's example photos as pairs: degraded/ is each clean image, saved as BMP."""
    work = Workdir(tmp_path, {}, "restoration")
    get_task("restoration").write_example_data(work.path("raw"), (4, 2, 2), 1)
    for clean in work.path("raw").glob("*/clean/*.png"):
        degraded = clean.parent.parent / "degraded" / f"{clean.stem}.bmp"
        degraded.parent.mkdir(exist_ok=True)
        Image.open(clean).save(degraded)
    return work


def mismatched(raw: Path) -> str:
    target = raw / "train" / "degraded" / "train_0000.bmp"
    write_png(target.with_suffix(".png"), seed=1, size=(50, 40))
    target.unlink()
    return "size_mismatch: train/degraded/train_0000.png (50x40 but its partner train/clean/train_0000.png is 56x48)"


def missing(raw: Path) -> str:
    (raw / "val" / "clean" / "val_0001.png").unlink()
    return "missing_partner: val/degraded/val_0001.bmp (no partner named val_0001.* in val/clean/)"


def too_small(raw: Path) -> str:
    for side, suffix in (("clean", "png"), ("degraded", "bmp")):
        write_png(raw / "test" / side / f"test_0000.{suffix}", seed=2, size=(20, 18))
    return "too_small: test/clean/test_0000.png (20x18 is smaller than data.crop_size=24)"


def corrupt(raw: Path) -> str:
    target = raw / "train" / "clean" / "train_0002.png"
    target.write_bytes(target.read_bytes()[:100])
    return "unreadable: train/clean/train_0002.png ("


CASES: dict[str, Callable[[Path], str]] = {"mismatched sizes": mismatched, "missing partner": missing,
                                           "smaller than the crop": too_small, "corrupt file": corrupt}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_pair_fails_prepare_with_one_line_naming_the_file(case: str, tmp_path: Path) -> None:
    work = pairs_workdir(tmp_path)
    expected = CASES[case](work.path("raw"))
    result = work.stage("prepare", check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("prepare: error: ") and expected in lines[0] and "Traceback" not in result.stderr
    assert not work.path("prepared").exists()


def test_prepare_writes_the_store_and_its_metrics(tmp_path: Path) -> None:
    work = pairs_workdir(tmp_path)
    work.stage("prepare")
    data = work.metrics("prepare")["data"]
    assert data["images"] == {"train": 4, "val": 2, "test": 2} and data["layout"] == "pairs"
    store = get_task("restoration").open_data(work.path("prepared"))
    assert store.split("val").images.shape[1:] == (32, 32, 3) and len(store.split("train")) > 0


def test_check_params_refuses_a_normalisation_the_residual_networks_cannot_use(tmp_path: Path) -> None:
    work = Workdir(tmp_path, {"model.input_mean": [127.0, 127.0, 127.0]}, "restoration")
    result = work.stage("check_params", check=False)
    assert result.returncode == 1 and "model.input_mean / model.input_std: restoration models see pixels in [0, 1]" \
        in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_params_refuses_a_classifier_family_for_restoration(tmp_path: Path) -> None:
    work = Workdir(tmp_path, {"distill.student.family": "resnet", "distill.student.size": "tiny"}, "restoration")
    result = work.stage("check_params", check=False)
    assert result.returncode == 1 and "distill.student.family: 'resnet' is a classification family; the " \
        "restoration task trains nafnet, convnext_unet" in result.stderr


def test_training_logs_psnr_ssim_lr_and_validation_images_to_mlflow(tmp_path) -> None:
    import sqlite3

    work = Workdir(tmp_path, {"train.epochs": 2, "tracking.enabled": True}, "restoration")
    get_task("restoration").write_example_data(work.path("raw"), (4, 2, 2), 1)
    work.stage("prepare")
    work.stage("train")
    db = sqlite3.connect(work.root / "mlflow.db")
    assert {row[0] for row in db.execute("select key from metrics")} >= {"val_psnr", "val_ssim", "lr", "train_loss"}
    pictures = sorted(p.name for p in (work.root / "mlruns").rglob("val_images/*.png"))
    assert pictures == ["epoch_001_val_val_0000.png", "epoch_002_val_val_0000.png"]
    strip = Image.open(next((work.root / "mlruns").rglob("epoch_001_*.png")))
    assert strip.size == (3 * 56, 48)  # degraded / restored / clean: the whole 56 x 48 val photo, three times
