"""The prepare stage through real ``dvc`` commands: caching, invalidation, param typos."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from distillery.data.demo import DemoSpec, write_multilabel
from tests.conftest import write_png
from tests.dvc_repo import DvcRepo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> DvcRepo:
    repo = DvcRepo.copy_of_this_repo(tmp_path_factory.mktemp("pipeline"))
    write_multilabel(repo.root / "data" / "raw", DemoSpec(counts=(60, 20, 20), seed=3))
    repo.commit("tiny demo pipeline")
    return repo


def test_dag_lists_the_check_then_the_seven_stages_in_order(repo) -> None:
    out = repo.dvc("dag", "--md").stdout
    nodes = dict(re.findall(r'(node\d+)\["(\w+)"\]', out))
    edges = {(nodes[a], nodes[b]) for a, b in re.findall(r"(node\d+)-->(node\d+)", out)}
    chain = ["prepare", "train", "distill", "quantize", "evaluate", "export"]
    assert set(zip(chain, chain[1:], strict=False)) <= edges
    assert ("pull_pretrained", "train") in edges
    assert {("check_params", stage) for stage in [*chain, "pull_pretrained"]} <= edges
    assert len(nodes) == 8


def test_repro_prepare_then_nothing_to_do(repo) -> None:
    repo.dvc("repro", "prepare")
    metrics = json.loads((repo.root / "metrics" / "prepare.json").read_text())
    assert metrics["data"]["images"] == {"train": 60, "val": 20, "test": 20}
    assert (repo.root / "data" / "prepared" / "train_images.npy").is_file()
    again = repo.dvc("repro", "prepare").stdout
    assert "Stage 'prepare' didn't change, skipping" in again


def test_editing_an_image_reruns_prepare_but_editing_train_lr_does_not(repo) -> None:
    repo.dvc("repro", "prepare")
    params = yaml.safe_load((repo.root / "params.yaml").read_text())
    params["train"]["lr"] = 0.123
    (repo.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert "prepare" not in repo.dvc("status", "prepare").stdout
    write_png(repo.root / "data" / "raw" / "images" / "val" / "val_00003.png", 123, size=(64, 64))
    assert "modified:" in repo.dvc("status", "prepare").stdout
    assert "Running stage 'prepare'" in repo.dvc("repro", "prepare").stdout


def test_exp_run_with_a_typo_fails_naming_the_key(repo) -> None:
    repo.dvc("repro", "prepare")
    repo.commit("prepared")
    refused = repo.dvc("exp", "run", "-S", "data.typo_key=1", "prepare", check=False)
    assert refused.returncode != 0
    assert "data.typo_key" in refused.stderr
    appended = repo.dvc("exp", "run", "-S", "+data.typo_key=1", "prepare", check=False)
    assert appended.returncode != 0
    assert "check_params: error: data.typo_key: unknown key" in appended.stderr
