"""evaluate and export on the tiny pipeline: the report, the plots, the bundle and its parity check."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.workdir import Workdir

pytestmark = pytest.mark.slow

BUNDLE = {"model_int8.tflite", "model_int8.onnx", "model_fp32.onnx", "labels.txt", "inference_config.json",
          "threshold_recommendation.json", "metrics.json", "README.md", "predict.py", "bundle_tools.py", "pixels.py",
          "letterbox.py", "SHA256SUMS"}


@pytest.fixture(scope="module")
def work(tiny_quantized) -> Workdir:
    tiny_quantized.stage("evaluate")
    tiny_quantized.stage("export")
    return tiny_quantized


def test_evaluate_reports_val_and_test_at_flat_and_tuned_thresholds(work) -> None:
    report = work.record("evaluate")["bundle"]
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
    assert {p.name for p in plots.iterdir()} == {"per_class_f1.csv", "per_class_f1.png", "pr_curves.png", "pr",
                                                 "confusion.csv", "confusion_matrix.png"}
    assert {p.name for p in (plots / "pr").iterdir()} == {f"class_{d}.csv" for d in range(10)} | {"micro_average.csv"}
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
    parity = work.metrics("export")["bundle"]["parity"]
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


def _predict(bundle: Path, *images: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(bundle / "predict.py"), str(bundle), *map(str, images)], cwd=cwd,
                          capture_output=True, text=True, check=False)


def _png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` and holds no pixels (what a decompression bomb starts with)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_predict_refuses_a_bundle_whose_model_bytes_were_flipped(work, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(work.path("export"), bundle)
    model = bundle / "model_int8.tflite"
    data = bytearray(model.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    model.write_bytes(bytes(data))
    image = sorted(work.path("raw").rglob("*.png"))[0]
    result = _predict(bundle, image, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"predict: error: {model}: its sha256 differs from SHA256SUMS: the file is damaged or was changed; "
        "re-export or re-download the bundle"]


def test_predict_names_each_bad_file_goes_on_and_fails_the_run(work, tmp_path) -> None:
    good = sorted(work.path("raw").rglob("*.png"))[0]
    bomb = _png_header(tmp_path / "bomb.png", 40_000, 40_000)
    huge = _png_header(tmp_path / "huge.png", 12_000, 9_000)  # 108 megapixels, over the bundle's 40M limit
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    result = _predict(work.path("export"), bomb, good, huge, text, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{good}: ")
    errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("INFO: ")]  # TFLite's
    assert len(errors) == 4 and errors[-1] == "predict: 3 of 4 image(s) could not be classified"
    assert "bomb.png" in errors[0] and "exceeds" in errors[0] and "the bundle's max_pixels=40000000" in errors[0]
    assert "12000x9000 exceeds the bundle's max_pixels=40000000" in errors[1]
    assert "corrupt or unsupported image" in errors[2]
    assert _predict(work.path("export"), bomb, cwd=tmp_path).returncode == 1


def test_predict_says_which_config_key_is_missing(work, tmp_path) -> None:
    from distillery.export.bundle import write_checksums

    bundle = tmp_path / "bundle"
    shutil.copytree(work.path("export"), bundle)
    config = json.loads((bundle / "inference_config.json").read_text())
    del config["normalization"]
    (bundle / "inference_config.json").write_text(json.dumps(config))
    write_checksums(bundle)
    result = _predict(bundle, sorted(work.path("raw").rglob("*.png"))[0], cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "inference_config.json: missing key(s) normalization" in result.stderr


def test_the_bundle_checksums_verify_with_sha256sum(work) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum on this machine")
    result = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=work.path("export"),
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {line.split(": ")[0] for line in result.stdout.splitlines()} == BUNDLE - {"SHA256SUMS"}
