"""Queued experiments (``dvc exp run --queue`` + ``dvc queue start``) on the tiny config, as the README says,
and their MLflow runs in the workspace's store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from distillery.data.demo import DemoSpec, write_multilabel
from distillery.remote.server import free_s3_port
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
    repo.set_params(**{**TINY, "model.pretrained": True, "remote.prefix": PREFIX, "train.epochs": 2,
                       "tracking.enabled": True})
    repo.use_s3(s3_server)
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(64, 24, 24), seed=4))
    # queued runs start from a git clone whose DVC cache is this repository's: tracked data needs no push
    repo.dvc("add", "-q", "data/raw")
    repo.commit("tiny pipeline, data tracked, not pushed")
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
    assert "0.005" in shown and "0.02" in shown and "teacher.val.macro_f1" in shown, shown
    with sqlite3.connect(repo.root / "mlflow.db") as db:  # both started together: the store survived it
        tagged = db.execute("SELECT count(DISTINCT t.value) FROM runs r JOIN tags t ON r.run_uuid = t.run_uuid "
                            "WHERE r.name = 'train' AND r.status = 'FINISHED' AND t.key = 'dvc_experiment'").fetchone()
    assert tagged == (2,)


def mlflow_rest(port: int, endpoint: str, body: dict | None = None, query: dict | None = None) -> dict:
    """A POST of ``body`` (or a GET with ``query``) to MLflow's REST API."""
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/{endpoint}"
    if query is not None:
        url += "?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def mlflow_server(repo):
    """``mlflow server`` on the workspace's store, as a user opens it."""
    port = free_s3_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "1",
                               "--backend-store-uri", f"sqlite:///{repo.root / 'mlflow.db'}"],
                              cwd=repo.root, env=repo.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while True:
        try:
            mlflow_rest(port, "experiments/search", {"max_results": 10})
            break
        except OSError:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not answer in 90 s"
            time.sleep(1)
    yield port
    server.terminate()
    server.wait(timeout=30)


def test_a_queued_experiment_logs_every_stage_and_registers_its_bundle_in_the_workspace_store(repo, mlflow_server):
    repo.dvc("exp", "run", "--queue", "-n", "tracked", "-S", "seed=11")  # a new seed: every stage runs
    repo.dvc("queue", "start", "-j", "1")
    status = wait_for_queue(repo, timeout=900)
    assert "tracked" in status and "Success" in status, status
    assert not list((repo.root / ".dvc" / "tmp").rglob("mlflow.db")), "a store was written in DVC's temp copy"

    experiments = mlflow_rest(mlflow_server, "experiments/search", {"max_results": 10})["experiments"]
    (experiment,) = [e for e in experiments if e["name"] == "distillery"]
    assert {"key": "mlflow.experimentKind", "value": "custom_model_development"} in experiment["tags"]
    runs = mlflow_rest(mlflow_server, "runs/search", {"experiment_ids": [experiment["experiment_id"]],
                                                      "filter": "tags.dvc_experiment = 'tracked'"})["runs"]
    by_stage = {run["info"]["run_name"]: {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
                for run in runs}
    assert set(by_stage) == {"prepare", "pull_pretrained", "train", "distill", "quantize", "evaluate", "export"}
    assert {"images.train", "found"} <= set(by_stage["prepare"]) and "teacher.bytes" in by_stage["pull_pretrained"]
    assert {"val.macro_f1", "best_epoch", "parameters"} <= set(by_stage["train"]) & set(by_stage["distill"])
    assert {"tflite.metric_drop", "onnx.size_ratio"} <= set(by_stage["quantize"])
    assert {"test.tuned.macro_f1", "test_gain_points"} <= set(by_stage["evaluate"])
    assert "tflite.pipeline_agreement_images" in by_stage["export"]

    commit = repo.run("git", "rev-parse", "HEAD").stdout.strip()  # the experiment's baseline
    versions = mlflow_rest(mlflow_server, "model-versions/search", query={"filter": "name = 'digits-demo'"})
    (version,) = [v for v in versions["model_versions"]
                  if {"key": "dvc_experiment", "value": "tracked"} in v.get("tags", [])]
    tags = {t["key"]: t["value"] for t in version["tags"]}
    assert tags["git_commit"] == commit
    assert tags["dvc.lock:models/quantized"].endswith(".dir") and len(tags["dvc.lock:models/quantized"]) == 36

    image = next((repo.root / "data" / "raw" / "images" / "test").iterdir())
    predict = ("import json, sys, mlflow, mlflow.pyfunc; mlflow.set_tracking_uri(sys.argv[1]); "
               "print(json.dumps(mlflow.pyfunc.load_model(sys.argv[2]).predict([sys.argv[3]])))")
    answered = repo.run(sys.executable, "-c", predict, f"sqlite:///{repo.root / 'mlflow.db'}",  # in a child:
                        f"models:/digits-demo/{version['version']}", str(image))  # set_tracking_uri sets os.environ
    (answer,) = json.loads(answered.stdout.strip().splitlines()[-1])
    assert set(answer["scores"]) == {str(d) for d in range(10)} and set(answer["labels"]) <= set(answer["scores"])
