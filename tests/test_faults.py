"""Faults: a stage killed with SIGKILL mid-write, and a disk that fills up, never leave a partial output.

(Train resuming from its checkpoint and pull surviving a kill or a server restart are tested in
tests/train and tests/remote.)
"""

from __future__ import annotations

import resource
import signal
import time
from pathlib import Path

import pytest

from distillery.data.demo import DemoSpec, write_multilabel
from distillery.data.prepared import PreparedDataset
from tests.workdir import Workdir

pytestmark = pytest.mark.slow


def temps_of(target: Path) -> list[Path]:
    return list(target.parent.glob(f".{target.name}.*.tmp"))


def kill_while_writing(work: Workdir, stage: str, target: Path, timeout: float = 180.0) -> None:
    """Start ``stage`` and SIGKILL it as soon as its temp output exists (the write is under way)."""
    child = work.popen_stage(stage)
    deadline = time.monotonic() + timeout
    while not temps_of(target):
        assert child.poll() is None, f"{stage} ended before it was killed:\n{child.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"{stage} never started writing {target}"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()


def assert_recovers(work: Workdir, stage: str, target: Path) -> None:
    """What the kill left is no output at all; the next run sweeps the temp and completes."""
    assert not target.exists() and temps_of(target)
    work.stage(stage)
    assert target.is_dir() and not temps_of(target)


@pytest.fixture
def raw_workdir(tmp_path) -> Workdir:
    work = Workdir(tmp_path, {})
    write_multilabel(work.path("raw"), DemoSpec(counts=(96, 32, 32), seed=5))
    return work


def test_prepare_killed_mid_write_recovers(raw_workdir) -> None:
    target = raw_workdir.path("prepared")
    kill_while_writing(raw_workdir, "prepare", target)
    assert_recovers(raw_workdir, "prepare", target)
    assert len(PreparedDataset.open(target).split("train")) == 96


def test_quantize_and_export_killed_mid_write_recover(tiny_quantized, tmp_path) -> None:
    work = Workdir(tmp_path, {"quantize.latency_runs": 3, "quantize.max_drop": 100.0,
                              "quantize.calibration_size": 32})
    for name in ("raw", "prepared", "student"):
        work.path(name).parent.mkdir(parents=True, exist_ok=True)
        work.path(name).symlink_to(tiny_quantized.path(name), target_is_directory=True)
    work.path("metrics").mkdir(parents=True, exist_ok=True)
    (work.path("metrics") / "distill.json").symlink_to(tiny_quantized.path("metrics") / "distill.json")
    for stage, target in (("quantize", work.path("quantized")), ("export", work.path("export"))):
        if stage == "export":
            work.stage("evaluate")
            distill = work.path("metrics") / "distill.json"
            distill.rename(distill.with_suffix(".moved"))
            refused = work.stage("export", check=False)
            assert refused.returncode == 1 and refused.stderr.strip().splitlines()[-1] == (
                "export: error: metrics/distill.json: not found; run `dvc repro distill` first")
            distill.with_suffix(".moved").rename(distill)
        kill_while_writing(work, stage, target)
        assert_recovers(work, stage, target)
    assert (work.path("export") / "model_int8.tflite").is_file()


def test_a_full_disk_fails_with_the_target_named_and_keeps_the_old_output(raw_workdir) -> None:
    raw_workdir.stage("prepare")
    target = raw_workdir.path("prepared")
    before = PreparedDataset.open(target).manifest

    def small_file_limit() -> None:  # a 64 KiB file-size limit stands in for a full disk (EFBIG like ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))

    failed = raw_workdir.stage("prepare", check=False, preexec_fn=small_file_limit)
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("prepare: error: ")
    assert f"{target.relative_to(raw_workdir.root)}: File too large while writing it" in last
    assert "Traceback" not in failed.stderr
    assert PreparedDataset.open(target).manifest == before and not temps_of(target)


def test_ctrl_c_in_training_prints_one_line_and_the_next_run_resumes(raw_workdir) -> None:
    work = Workdir(raw_workdir.root, {"train.epochs": 8, "train.patience": 8})
    work.prepare((96, 32, 32))
    child = work.popen_stage("train")
    checkpoint = work.root / work.params.paths.checkpoints / "train.pt"  # renamed into place: an epoch is saved
    deadline = time.monotonic() + 180
    while not checkpoint.is_file():
        assert child.poll() is None, child.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "train never saved an epoch"
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    stderr = child.communicate(timeout=60)[1]
    assert child.returncode == 130 and "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("train: interrupted: stopped in epoch ") and "the next `dvc repro` resumes" in last
    assert not work.path("teacher").exists()
    resumed = work.stage("train")
    assert "resuming from" in resumed.stderr
