"""The whole tiny pipeline, twice from scratch, gives byte-identical DVC metrics files."""

from __future__ import annotations

import pytest

from distillery.data.demo import DemoSpec, write_multilabel
from tests.conftest import publish_resnet_weights
from tests.workdir import Workdir

pytestmark = pytest.mark.slow
PREFIX = "determinism/pretrained_models"
STAGES = ("prepare", "pull_pretrained", "train", "distill", "quantize", "evaluate", "export")
SETTINGS = {"model.pretrained": True, "distill.student.pretrained": True, "remote.prefix": PREFIX,
            "quantize.calibration_size": 32, "quantize.latency_runs": 5, "quantize.max_drop": 100.0}


def run_from_scratch(root, s3_server) -> dict[str, bytes]:
    work = Workdir(root, SETTINGS)
    work.use_s3(s3_server)
    write_multilabel(work.path("raw"), DemoSpec(counts=(96, 32, 32), seed=3))
    for stage in STAGES:
        work.stage(stage)
    return {p.name: p.read_bytes() for p in sorted(work.path("metrics").glob("*.json"))}


def test_two_runs_from_scratch_write_identical_metrics(tmp_path, s3_server) -> None:
    publish_resnet_weights(s3_server, PREFIX, ("tiny",), tmp_path)
    first = run_from_scratch(tmp_path / "first", s3_server)
    second = run_from_scratch(tmp_path / "second", s3_server)
    assert sorted(first) == [f"{stage}.json" for stage in sorted(STAGES)]
    changed = [name for name in first if first[name] != second[name]]
    assert not changed, f"metrics differ between two runs from scratch: {changed}"
