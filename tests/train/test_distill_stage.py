"""The distill stage on a tiny configuration: the student, its metrics, and the no-KD baseline."""

from __future__ import annotations

import pytest
import torch

from distillery.models.checkpoint import load_model_dir
from distillery.models.registry import create_model
from tests.workdir import Workdir

pytestmark = pytest.mark.slow


def test_distill_writes_a_self_described_student_and_measures_kd(tmp_path) -> None:
    work = Workdir(tmp_path, {"model.size": "quarter", "distill.compare_without_kd": True, "distill.epochs": 2,
                              "distill.student.pretrained": True})
    work.prepare()
    torch.manual_seed(0)
    for role, size in (("teacher", "quarter"), ("student", "tiny")):
        create_model("resnet", size, [str(d) for d in range(10)], 32, "single_label").save_pretrained(
            work.path("pretrained") / role)
    work.stage("train")
    work.stage("distill")
    record = work.record("distill")
    student, plain = record["student"], record["student_without_kd"]
    assert student["parameter_ratio"] == pytest.approx(
        student["parameters"] / record["teacher"]["parameters"], abs=1e-4)
    assert student["parameter_ratio"] < 0.5
    assert set(plain["val"]) == set(student["val"])
    assert student["kd_gain_macro_f1_points"] == pytest.approx(
        100 * (student["val"]["macro_f1"] - plain["val"]["macro_f1"]), abs=0.01)
    assert set(work.metrics("distill")) == {"student", "student_without_kd"}  # the teacher's are in train.json
    student, meta = load_model_dir(work.path("student"))
    assert meta.size == "tiny" and meta.lineage["teacher"]["size"] == "quarter"
    assert meta.lineage["distillation"] == {"alpha": 0.7, "temperature": 2.0, "epochs": 2}
    assert meta.lineage["pretrained"]["backbone_fraction"] == 1.0
    assert (work.root / "metrics" / "plots" / "distill.csv").read_text().count("\n") == 3
