"""prepare -> pull_pretrained -> train through real ``dvc`` against the local S3 server (tiny config)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from distillery.data.demo import DemoSpec, write_multilabel
from tests.conftest import publish_resnet_weights
from tests.dvc_repo import DvcRepo
from tests.workdir import TINY

pytestmark = pytest.mark.slow
PREFIX = "pipeline_train/pretrained_models"


@pytest.fixture(scope="module")
def repo(tmp_path_factory, s3_server) -> DvcRepo:
    root = tmp_path_factory.mktemp("train")
    publish_resnet_weights(s3_server, PREFIX, ("tiny", "quarter"), root.parent)
    repo = DvcRepo.copy_of_this_repo(root)
    repo.set_params(**{**TINY, "model.pretrained": True, "remote.prefix": PREFIX, "train.epochs": 2})
    repo.use_s3(s3_server)
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(96, 32, 32), seed=2))
    repo.commit("tiny pipeline")
    return repo


def test_repro_train_then_an_experiment_on_another_size(repo) -> None:
    out = repo.dvc("repro", "train").stdout
    assert "Running stage 'train'" in out
    metrics = json.loads((repo.root / "metrics" / "records" / "train.json").read_text())
    assert metrics["teacher"]["transfer"]["backbone_fraction"] == 1.0
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


def test_the_whole_pipeline_then_what_each_change_reruns(repo) -> None:
    """dvc repro end to end on the tiny config, then the README's table of what reruns."""
    repo.set_params(**{"quantize.max_drop": 100.0, "quantize.latency_runs": 5, "quantize.calibration_size": 32})
    out = repo.dvc("repro").stdout
    for stage in ("distill", "quantize", "evaluate", "export"):
        assert f"Running stage '{stage}'" in out
    assert {p.name for p in (repo.root / "models" / "export").iterdir()} >= {"model_int8.tflite", "README.md"}
    repo.commit("whole pipeline")
    assert "Data and pipelines are up to date" in repo.dvc("repro").stdout

    def rerun_after(**change: object) -> set[str]:
        repo.set_params(**change)
        out = repo.dvc("repro").stdout
        ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
        assert "check_params" in ran, "a params change must be validated first"
        return ran - {"check_params"}

    # the stage a change touches reruns; what follows reruns only if its inputs really changed
    assert "evaluate" in rerun_after(**{"thresholds.smoothing": 0.2}) <= {"evaluate", "export"}
    assert "quantize" in rerun_after(**{"quantize.calibration_size": 64}) <= {"quantize", "evaluate", "export"}
    assert "distill" in rerun_after(**{"distill.temperature": 3.0}) <= {"distill", "quantize", "evaluate", "export"}
    assert {"pull_pretrained", "distill"} <= rerun_after(**{"distill.student.size": "quarter"}) <= {
        "pull_pretrained", "distill", "quantize", "evaluate", "export"}
    repo.commit("quarter student")

    report = repo.run(sys.executable, "-m", "distillery.report", "--base", "HEAD~1").stdout
    assert re.search(r"\|\s*Path\s*\|\s*Metric\s*\|\s*HEAD~1\s*\|\s*workspace\s*\|\s*Change\s*\|", report), report
    assert re.search(r"\|\s*metrics/distill.json\s*\|\s*student.val.macro_f1\s*\|", report), report
    assert re.search(r"\|\s*params.yaml\s*\|\s*distill.student.size\s*\|\s*tiny\s*\|\s*quarter\s*\|", report), report


def test_a_refused_value_stops_before_any_output_is_deleted(repo) -> None:
    """DVC deletes a stage's outputs before running it: the check stage refuses the value first."""
    repo.dvc("repro")
    teacher = {p.name: p.read_bytes() for p in (repo.root / "models" / "teacher").iterdir()}
    train_metrics = (repo.root / "metrics" / "train.json").read_bytes()
    repo.set_params(**{"train.epochs": 0})
    result = repo.dvc("repro", check=False)
    assert result.returncode != 0
    assert "check_params: error: train.epochs: 0 is out of range; expected >= 1" in result.stderr + result.stdout
    assert "Running stage 'train'" not in result.stdout
    assert {p.name: p.read_bytes() for p in (repo.root / "models" / "teacher").iterdir()} == teacher
    assert (repo.root / "metrics" / "train.json").read_bytes() == train_metrics
    repo.set_params(**{"train.epochs": 2})


def test_a_change_to_any_module_a_stage_runs_reruns_it(repo) -> None:
    """prepared.py sets the batch order: a change must rerun train and distill too (it reran prepare only)."""
    repo.dvc("repro")
    module = repo.root / "src" / "distillery" / "data" / "prepared.py"
    original = module.read_text()
    module.write_text(original + "# a comment changes the file's hash\n")
    try:
        status = repo.dvc("status").stdout
    finally:
        module.write_text(original)
    for stage in ("prepare", "train", "distill", "quantize", "evaluate", "export"):
        assert f"{stage}:" in status, status
    assert "Data and pipelines are up to date" in repo.dvc("status").stdout
