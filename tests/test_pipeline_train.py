"""prepare -> pull_pretrained -> train through real ``dvc`` against the local S3 server (tiny config)."""

from __future__ import annotations

import json

import pytest
import torch

from distillery.data.demo import DemoSpec, write_multilabel
from distillery.models.registry import create_model
from distillery.remote.client import make_client
from distillery.remote.publish import publish
from tests.dvc_repo import DvcRepo
from tests.workdir import TINY

pytestmark = pytest.mark.slow
PREFIX = "pipeline_train/pretrained_models"


@pytest.fixture(scope="module")
def repo(tmp_path_factory, s3_server) -> DvcRepo:
    root = tmp_path_factory.mktemp("train")
    for size in ("tiny", "quarter"):
        torch.manual_seed(0)
        folder = root.parent / f"weights-{size}"
        create_model("resnet", size, [str(d) for d in range(10)], 32, "single_label").save_pretrained(folder)
        publish(make_client(s3_server), s3_server, "models", PREFIX, folder, f"resnet/{size}",
                {"family": "resnet", "size": size, "source": "test"})
    repo = DvcRepo.copy_of_this_repo(root)
    repo.set_params(**{**TINY, "model.pretrained": True, "remote.prefix": PREFIX, "train.epochs": 2})
    repo.use_s3(s3_server)
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(96, 32, 32), seed=2))
    repo.commit("tiny pipeline")
    return repo


def test_repro_train_then_an_experiment_on_another_size(repo) -> None:
    out = repo.dvc("repro", "train").stdout
    assert "Running stage 'train'" in out
    metrics = json.loads((repo.root / "metrics" / "train.json").read_text())
    assert metrics["transfer"]["backbone_fraction"] == 1.0
    assert "didn't change, skipping" in repo.dvc("repro", "train").stdout
    repo.commit("trained")

    exp = repo.dvc("exp", "run", "-S", "model.size=quarter", "train")
    assert "Stage 'prepare' didn't change, skipping" in exp.stdout
    assert "Running stage 'pull_pretrained'" in exp.stdout and "Running stage 'train'" in exp.stdout
    shown = repo.dvc("exp", "show", "--md", "--no-pager").stdout
    assert "quarter" in shown and "tiny" in shown


def test_changing_only_a_train_param_keeps_prepare_and_pull_cached(repo) -> None:
    repo.dvc("repro", "train")
    repo.set_params(**{"train.lr": 0.02})
    status = repo.dvc("status").stdout
    assert "train:" in status and "prepare:" not in status and "pull_pretrained:" not in status
