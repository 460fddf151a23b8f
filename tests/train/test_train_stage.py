"""The train stage as DVC runs it (``python -m stages.train``), on a tiny configuration."""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest
import torch

from distillery.models.checkpoint import load_model_dir
from distillery.models.registry import create_model
from tests.workdir import Workdir

pytestmark = pytest.mark.slow


def tiny_workdir(root, **overrides) -> Workdir:
    work = Workdir(root, {"model.pretrained": True, **overrides})
    work.prepare()
    torch.manual_seed(123)
    source = create_model("resnet", "tiny", [str(d) for d in range(10)], 32, "single_label")
    source.save_pretrained(work.path("pretrained") / "teacher")
    return work


def train_metrics(work: Workdir) -> dict:
    return work.record("train")["teacher"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Workdir:
    work = tiny_workdir(tmp_path_factory.mktemp("trained"), **{"train.epochs": 4})
    work.stage("train")
    return work


def test_train_stage_outputs(trained) -> None:
    metrics = train_metrics(trained)
    assert metrics["transfer"]["backbone_fraction"] == 1.0 and metrics["transfer"]["tensors_transferred"] > 10
    assert set(metrics["val"]) >= {"macro_f1", "micro_f1", "mAP", "no_label_rate"}
    assert metrics["epochs_run"] == 4 and metrics["images_per_second"] > 0
    rows = (trained.root / "metrics" / "plots" / "train.csv").read_text().splitlines()
    assert rows[0] == "epoch,phase,train_loss,val_loss,val_metric,lr" and len(rows) == 5  # no timings in git
    timings = metrics["epoch_timings"]
    assert [t["epoch"] for t in timings] == [1, 2, 3, 4] and all(t["seconds"] > 0 for t in timings)
    model, meta = load_model_dir(trained.path("teacher"))
    assert meta.family == "resnet" and meta.labels == [str(d) for d in range(10)] and meta.task == "multi_label"
    assert meta.lineage["pretrained"]["backbone_fraction"] == 1.0


def test_killed_run_resumes_and_ends_like_an_uninterrupted_one(trained, tmp_path) -> None:
    work = tiny_workdir(tmp_path, **{"train.epochs": 4})
    checkpoint = work.root / ".checkpoints" / "train.pt"
    child = work.popen_stage("train")
    deadline = time.monotonic() + 120
    while not checkpoint.exists():
        assert child.poll() is None, child.stderr.read()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not work.path("teacher").exists()
    resumed = work.stage("train")
    assert "resuming from .checkpoints/train.pt after epoch" in resumed.stderr
    assert train_metrics(work)["val"] == train_metrics(trained)["val"]


def test_two_processes_match_one(trained, tmp_path) -> None:
    work = tiny_workdir(tmp_path, **{"train.epochs": 4, "train.processes": 2})
    result = work.stage("train")
    assert "starting 2 data-parallel processes with torchrun (gloo)" in result.stderr
    one, two = train_metrics(trained), train_metrics(work)
    assert two["processes"] == 2
    assert abs(two["val"]["macro_f1"] - one["val"]["macro_f1"]) < 0.1
    assert abs(two["val"]["mAP"] - one["val"]["mAP"]) < 0.1


def test_mlflow_records_the_run_and_a_dead_store_never_fails_the_stage(tmp_path) -> None:
    work = tiny_workdir(tmp_path, **{"train.epochs": 2, "tracking.enabled": True})
    work.stage("train")
    db = sqlite3.connect(work.root / "mlflow.db")
    params = dict(db.execute("select key, value from params"))
    assert params["model.family"] == "resnet" and params["train.epochs"] == "2"
    assert {row[0] for row in db.execute("select key from metrics")} >= {"val_metric", "train_loss", "val.macro_f1"}
    tags = dict(db.execute("select key, value from tags"))
    assert tags["stage"] == "train" and "git_commit" in tags
    assert list((work.root / "mlruns").rglob("transfer_report.json"))
    assert list((work.root / "mlruns").rglob("model.safetensors"))

    (tmp_path / "not-a-dir").write_text("a file where the store's folder should be")
    dead_uri = f"sqlite:///{tmp_path / 'not-a-dir' / 'mlflow.db'}"
    dead = Workdir(tmp_path / "dead", {"tracking.enabled": True, "tracking.uri": dead_uri, "train.epochs": 2})
    dead.prepare()
    result = dead.stage("train")
    assert "MLflow tracking off for this run" in result.stderr
    assert (dead.root / "metrics" / "train.json").is_file()


def test_mlflow_artifacts_can_live_in_the_s3_server(tmp_path, s3_server, s3) -> None:
    """The README's S3 artifact store: ``tracking.artifact_location: s3://mlflow/...`` + ``MLFLOW_S3_ENDPOINT_URL``."""
    s3.create_bucket(Bucket="mlflow")
    work = tiny_workdir(tmp_path, **{"train.epochs": 2, "tracking.enabled": True,
                                     "tracking.artifact_location": "s3://mlflow/distillery"})
    work.use_s3(s3_server)
    work.env["MLFLOW_S3_ENDPOINT_URL"] = s3_server.endpoint_url
    result = work.stage("train")
    assert "MLflow tracking off" not in result.stderr, result.stderr[-2000:]
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket="mlflow").get("Contents", [])]
    assert any(key.endswith("/transfer_report.json") for key in keys), keys
    assert any(key.endswith("/teacher/model.safetensors") for key in keys), keys
    assert not (work.root / "mlruns").exists()
