"""Queued experiments (``dvc exp run --queue`` + ``dvc queue start -j 2``) on the tiny config, as the README says."""

from __future__ import annotations

import time

import pytest

from distillery.data.demo import DemoSpec, write_multilabel
from tests.conftest import publish_resnet_weights
from tests.dvc_repo import DvcRepo
from tests.workdir import TINY

pytestmark = pytest.mark.slow
PREFIX = "experiments/pretrained_models"


@pytest.fixture(scope="module")
def repo(tmp_path_factory, s3_server) -> DvcRepo:
    root = tmp_path_factory.mktemp("experiments")
    publish_resnet_weights(s3_server, PREFIX, ("tiny",), root.parent)
    repo = DvcRepo.copy_of_this_repo(root)
    repo.set_params(**{**TINY, "model.pretrained": True, "remote.prefix": PREFIX, "train.epochs": 2})
    repo.use_s3(s3_server)
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(64, 24, 24), seed=4))
    repo.dvc("add", "-q", "data/raw")  # queued runs start from a git clone: their data comes from the remote
    repo.dvc("push", "-q", "data/raw.dvc")
    repo.commit("tiny pipeline, data tracked and pushed")
    return repo


def wait_for_queue(repo: DvcRepo, timeout: float = 420.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = repo.dvc("queue", "status").stdout
        if not any(state in status for state in ("Queued", "Running")):
            return status
        time.sleep(3)
    raise AssertionError(f"the queue did not finish in {timeout:.0f} s:\n{status}")


def test_two_queued_experiments_run_in_parallel_and_are_shown(repo) -> None:
    for lr in ("0.005", "0.02"):
        repo.dvc("exp", "run", "--queue", "-S", f"train.lr={lr}", "train")
    repo.dvc("queue", "start", "-j", "2")
    status = wait_for_queue(repo)
    assert status.count("Success") == 2, status
    shown = repo.dvc("exp", "show", "--md", "--no-pager", "--only-changed").stdout
    assert "0.005" in shown and "0.02" in shown and "val.macro_f1" in shown, shown
