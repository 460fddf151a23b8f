"""evaluate and export on the tiny pipeline: the report, the plots, the bundle and its parity check."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.workdir import Workdir

pytestmark = pytest.mark.slow

BUNDLE = {"model_int8.tflite", "model_int8.onnx", "model_fp32.onnx", "labels.txt", "inference_config.json",
          "threshold_recommendation.json", "metrics.json", "README.md", "predict.py"}


@pytest.fixture(scope="module")
def work(tiny_quantized) -> Workdir:
    tiny_quantized.stage("evaluate")
    tiny_quantized.stage("export")
    return tiny_quantized


def test_evaluate_reports_val_and_test_at_flat_and_tuned_thresholds(work) -> None:
    report = work.record("evaluate")
    for split in ("val", "test"):
        assert {"flat", "tuned"} <= set(report[split])
    tuned, flat = report["test"]["tuned"], report["test"]["flat"]
    assert report["test_gain_points"] == pytest.approx(100 * (tuned["macro_f1"] - flat["macro_f1"]), abs=1e-3)
    assert report["val"]["tuned"]["macro_f1"] >= report["val"]["flat"]["macro_f1"]
    assert set(tuned["per_class"]) == {str(d) for d in range(10)}
    assert {"precision", "recall", "f1", "support"} <= set(tuned["per_class"]["3"])
    assert report["miscalibration_warning"] == (report["test_gain_points"] > 5)
    recommendation = json.loads((work.path("evaluation") / "threshold_recommendation.json").read_text())
    assert recommendation["chosen_on"] == "val" and len(recommendation["per_class"]) == 10
    assert recommendation["per_class"] == list(report["thresholds"]["per_class"].values())
    plots = work.root / "metrics" / "plots" / "evaluate"
    assert {p.name for p in plots.iterdir()} == {"per_class_f1.csv", "per_class_f1.png", "pr_curves.png"}
    assert (plots / "pr_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_the_bundle_has_everything_an_app_needs_and_nothing_else(work) -> None:
    bundle = work.path("export")
    assert {p.name for p in bundle.iterdir()} == BUNDLE
    config = json.loads((bundle / "inference_config.json").read_text())
    assert config["input_size"] == [32, 32] and config["output_activation"] == "sigmoid"
    assert config["models"]["tflite"]["input"]["dtype"] == "int8"
    assert config["thresholds"]["per_class"] == json.loads(
        (bundle / "threshold_recommendation.json").read_text())["per_class"]
    assert (bundle / "labels.txt").read_text().split() == [str(d) for d in range(10)]
    card = (bundle / "README.md").read_text()
    assert "## Parity" in card and "fingerprint" in card


def test_parity_is_measured_and_within_the_limit(work) -> None:
    parity = work.metrics("export")["parity"]
    assert parity["images"] == 48
    for backend in ("tflite", "onnx"):
        assert parity[backend]["pipeline_agreement_images"] >= 0.995
        assert 0.0 <= parity[backend]["fp32_student_agreement_labels"] <= 1.0


def test_predict_example_runs_alone_in_a_fresh_process(work, tmp_path) -> None:
    image = sorted((work.path("raw")).rglob("*.png"))[0]
    result = subprocess.run([sys.executable, str(work.path("export") / "predict.py"), str(work.path("export")),
                             str(image)], cwd=tmp_path, capture_output=True, text=True, check=True)
    line = result.stdout.strip()
    assert line.startswith(f"{image}: ")
    labels = line.split(": ", 1)[1]
    assert labels == "no label" or all(part.split(" ")[0] in "0123456789" for part in labels.split(", "))


def test_a_bundle_that_does_not_reproduce_the_pipeline_fails_export(work, tmp_path) -> None:
    broken = Workdir(tmp_path / "broken", {"model.input_mean": [0.0, 0.0, 0.0]})
    for name in ("raw", "prepared", "student", "evaluation", "metrics"):
        broken.path(name).parent.mkdir(parents=True, exist_ok=True)
        broken.path(name).symlink_to(work.path(name), target_is_directory=True)
    quantized = broken.path("quantized")
    quantized.mkdir(parents=True)
    for source in work.path("quantized").iterdir():
        (quantized / source.name).write_bytes(source.read_bytes())
    meta = json.loads((quantized / "meta.json").read_text())
    meta["input_mean"] = [0.0, 0.0, 0.0]  # the bundle would document the wrong normalisation
    (quantized / "meta.json").write_text(json.dumps(meta))
    result = broken.stage("export", check=False)
    assert result.returncode == 1
    assert "differ from the pipeline's int8 evaluation" in result.stderr
    assert not broken.path("export").exists()
    assert np.load(work.path("evaluation") / "test_decisions.npz")["tflite"].shape == (48, 10)
