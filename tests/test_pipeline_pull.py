"""pull_pretrained and the DVC remotes through real ``dvc`` commands against the local S3 server."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch
from safetensors.torch import save_file

from distillery.data.demo import DemoSpec, write_multilabel
from distillery.remote.client import make_client
from distillery.remote.publish import publish
from tests.dvc_repo import DvcRepo

pytestmark = pytest.mark.slow
PREFIX = "pipeline_pull/pretrained_models"


def publish_weights(settings, folder, scale: float, name: str = "resnet/base") -> None:
    folder.mkdir(exist_ok=True)
    save_file({"w": torch.full((128, 16), scale)}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"model_type": "resnet"}))
    publish(make_client(settings), settings, "models", PREFIX, folder, name, {"family": "resnet"})


@pytest.fixture(scope="module")
def repo(tmp_path_factory, s3_server) -> DvcRepo:
    repo = DvcRepo.copy_of_this_repo(tmp_path_factory.mktemp("pull"))
    repo.set_params(**{"remote.prefix": PREFIX})
    repo.use_s3(s3_server)
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(30, 10, 10), seed=1))
    repo.commit("pipeline with s3")
    return repo


def test_pull_reruns_only_when_the_object_changes(repo, s3_server, tmp_path) -> None:
    publish_weights(s3_server, tmp_path / "w", 1.0)
    publish_weights(s3_server, tmp_path / "s", 3.0, "resnet/quarter")
    first = repo.dvc("repro", "pull_pretrained").stdout
    assert "Running stage 'pull_pretrained'" in first
    pulled = repo.root / "models" / "pretrained" / "teacher"
    assert (pulled / "model.safetensors").read_bytes() == (tmp_path / "w" / "model.safetensors").read_bytes()
    student = repo.root / "models" / "pretrained" / "student" / "model.safetensors"
    assert student.read_bytes() == (tmp_path / "s" / "model.safetensors").read_bytes()
    metrics = json.loads((repo.root / "metrics" / "records" / "pull_pretrained.json").read_text())["pretrained"]
    assert metrics["teacher"]["name"] == "resnet/base" and metrics["student"]["name"] == "resnet/quarter"
    assert metrics["teacher"]["files"]["model.safetensors"]["version"] != "null"
    assert "didn't change, skipping" in repo.dvc("repro", "pull_pretrained").stdout
    assert "up to date" in repo.dvc("status", "pull_pretrained").stdout

    publish_weights(s3_server, tmp_path / "w", 2.0)
    status = repo.dvc("status", "pull_pretrained").stdout
    assert f"modified:           remote://models/{PREFIX}/resnet/base" in status
    assert "Running stage 'pull_pretrained'" in repo.dvc("repro", "pull_pretrained").stdout
    assert (pulled / "model.safetensors").read_bytes() == (tmp_path / "w" / "model.safetensors").read_bytes()


def test_dvc_push_and_pull_data_and_outputs(repo) -> None:
    repo.dvc("add", "data/raw")
    repo.dvc("repro", "prepare")
    repo.dvc("push")
    shutil.rmtree(repo.root / "data" / "prepared")
    shutil.rmtree(repo.root / "data" / "raw")
    shutil.rmtree(repo.root / ".dvc" / "cache")
    repo.dvc("pull", "data/raw.dvc", "prepare")
    assert (repo.root / "data" / "raw" / "manifest.csv").is_file()
    assert (repo.root / "data" / "prepared" / "train_images.npy").is_file()
    assert "up to date" in repo.dvc("status", "prepare").stdout


def test_aws_endpoint_url_s3_alone_points_publish_pull_and_dvc_push_at_the_server(tmp_path_factory, s3_server,
                                                                                   s3, tmp_path) -> None:
    """boto3's variable, with no project variable and no .dvc/config.local: every client follows it."""
    repo = DvcRepo.copy_of_this_repo(tmp_path_factory.mktemp("aws-endpoint"))
    prefix = "aws_endpoint/pretrained_models"
    repo.set_params(**{"remote.prefix": prefix})
    repo.env = {k: v for k, v in repo.env.items() if k not in ("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")}
    repo.env |= {"AWS_ENDPOINT_URL_S3": s3_server.endpoint_url, "AWS_ACCESS_KEY_ID": s3_server.access_key,
                 "AWS_SECRET_ACCESS_KEY": s3_server.secret_key}
    for size, scale in (("base", 1.0), ("quarter", 2.0)):
        folder = tmp_path / size
        folder.mkdir()
        save_file({"w": torch.full((8, 4), scale)}, folder / "model.safetensors")
        (folder / "config.json").write_text(json.dumps({"model_type": "resnet"}))
        repo.run(sys.executable, "-m", "distillery.remote", "publish", str(folder), "--name", f"resnet/{size}")
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(6, 2, 2), seed=5))
    repo.commit("aws endpoint")
    assert not (repo.root / ".dvc" / "config.local").exists()
    repo.dvc("repro", "pull_pretrained")
    pulled = repo.root / "models" / "pretrained" / "teacher" / "model.safetensors"
    assert pulled.read_bytes() == (tmp_path / "base" / "model.safetensors").read_bytes()
    before = s3.list_objects_v2(Bucket="dvcstore").get("KeyCount", 0)
    repo.dvc("add", "data/raw")
    assert "pushed" in repo.dvc("push", "data/raw.dvc").stdout
    assert s3.list_objects_v2(Bucket="dvcstore").get("KeyCount", 0) > before
