"""The demo pipelines in demos/<task>/: generated from the root dvc.yaml, their own params and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillery import config
from distillery.pipelines import demo_folders, demo_stage, stale
from tests.conftest import REPO


def test_every_demo_pipeline_is_generated_from_the_root_one() -> None:
    assert [p.name for p in demo_folders(REPO)] == ["restoration"]
    assert stale(REPO) == [], "run `python -m distillery.pipelines`"


@pytest.mark.parametrize("folder", demo_folders(REPO), ids=lambda p: p.name)
def test_a_demo_s_params_are_valid_and_its_outputs_stay_in_its_folder(folder: Path) -> None:
    params = config.load(folder / config.PARAMS_FILE)
    assert params.task == folder.name
    relative = folder.relative_to(REPO)
    for name, path in vars(params.paths).items():
        if name != "cache":  # content-addressed, shared by every pipeline
            assert Path(path).is_relative_to(relative), f"paths.{name}: {path} is outside {relative}"


def test_a_demo_stage_runs_from_the_root_and_declares_its_own_params_file() -> None:
    root = {"cmd": "python -m stages.train", "deps": ["params.yaml", "src/x.py"], "params": ["model", "train"]}
    stage = demo_stage(root, "demos/restoration")
    assert stage["wdir"] == "../.."
    assert stage["cmd"] == "DISTILLERY_PIPELINE=demos/restoration python -m stages.train"
    assert stage["deps"] == ["demos/restoration/params.yaml", "src/x.py"]
    assert stage["params"] == [{"demos/restoration/params.yaml": ["model", "train"]}]


def test_a_stage_reads_the_params_its_own_pipeline_declares(monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    root = config.declared_params("quantize")
    assert "quantize" in root
    monkeypatch.setenv(config.PIPELINE_ENV, "demos/restoration")
    assert config.params_file() == Path("demos/restoration/params.yaml")
    assert config.declared_params("quantize") == root  # the same keys, declared in the demo's params file
    monkeypatch.delenv(config.PIPELINE_ENV)
    assert config.declared_params("quantize", pipeline=Path("demos/restoration/dvc.yaml")) == root
