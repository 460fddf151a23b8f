"""The quantize stage on a tiny trained student: int8 TFLite and ONNX, their metrics, and QAT."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from distillery.errors import ExportError
from distillery.quantize.calibration import calibration_indices
from distillery.quantize.run import check_drop
from distillery.runners import dequantize_output, quantize_input
from tests.workdir import Workdir

pytestmark = pytest.mark.slow

TARGET_KEYS = {"size_ratio", "metric_drop", "latency_ratio", "agreement", "size_bytes", "fp32_size_bytes",
               "latency_ms", "fp32_latency_ms", "val"}


@pytest.fixture(scope="module")
def work(tiny_quantized) -> Workdir:
    return tiny_quantized


def test_quantize_writes_both_int8_targets_and_measures_them(work) -> None:
    out = work.path("quantized")
    assert {p.name for p in out.iterdir()} == {"student_int8.tflite", "student_fp32.tflite", "student_int8.onnx",
                                               "student_fp32.onnx", "meta.json"}
    record = work.record("quantize")
    metrics = record["int8"]
    assert metrics["method"] == "ptq" and metrics["calibration_images"] == 64
    for target in ("tflite", "onnx"):
        result = metrics[target]
        assert set(result) >= TARGET_KEYS
        assert result["size_ratio"] == pytest.approx(result["size_bytes"] / result["fp32_size_bytes"], abs=1e-4)
        assert result["size_ratio"] < 0.5
        assert result["metric_drop"] == pytest.approx(
            100 * (record["fp32"]["val"]["macro_f1"] - result["val"]["macro_f1"]), abs=1e-3)
        assert 0.9 <= result["agreement"] <= 1.0
    assert metrics["tflite"]["input"]["dtype"] == "int8" and metrics["tflite"]["output"]["dtype"] == "int8"
    assert metrics["onnx"]["activation_type"] in {"int8", "uint8"}
    latency = metrics["onnx"]["latency_ms_by_activation_type"]
    assert metrics["onnx"]["activation_type"] == ("int8" if latency["int8"] * 1.25 < latency["uint8"] else "uint8")
    compared = work.metrics("quantize")["int8"]
    assert "latency_ratio" not in compared["tflite"]
    assert compared["tflite"]["size_ratio"] == metrics["tflite"]["size_ratio"]


LOAD_IN_A_FRESH_PROCESS = """
import sys, numpy as np, onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter
folder = sys.argv[1]
interpreter = Interpreter(model_path=folder + "/student_int8.tflite")
interpreter.allocate_tensors()
inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
interpreter.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
interpreter.invoke()
session = ort.InferenceSession(folder + "/student_int8.onnx", providers=["CPUExecutionProvider"])
ops = {node.op_type for node in __import__("onnx").load(folder + "/student_int8.onnx").graph.node}
logits = session.run(None, {session.get_inputs()[0].name: np.zeros((3, 3, 32, 32), np.float32)})[0]
print(inp["dtype"].__name__, out["dtype"].__name__, inp["shape"].tolist(), logits.shape, "QuantizeLinear" in ops)
"""


def test_the_quantized_files_load_alone_in_a_fresh_process(work, tmp_path) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in ("student_int8.tflite", "student_int8.onnx"):
        (alone / name).write_bytes((work.path("quantized") / name).read_bytes())
    result = subprocess.run([sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, str(alone)], cwd=tmp_path,
                            capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[-2] == "int8 int8 [1, 32, 32, 3] (3, 10) True"


def test_the_onnx_files_carry_no_path_of_the_machine_that_built_them(work) -> None:
    """The exporter's stack traces held absolute source paths: each checkout exported different bytes."""
    checkout = str(Path(__file__).resolve().parents[2]).encode()
    for name in ("student_fp32.onnx", "student_int8.onnx"):
        data = (work.path("quantized") / name).read_bytes()
        assert checkout not in data and b"stack_trace" not in data, name


def test_only_a_large_drop_fails_and_the_message_names_target_and_fix() -> None:
    results = {"tflite": {"metric_drop": 0.4}, "onnx": {"metric_drop": 1.3}}
    check_drop({"tflite": results["tflite"]}, max_drop=1.0, method="ptq", what="points of val macro_f1")
    with pytest.raises(ExportError, match=r"onnx int8 loses 1.30 points of val macro_f1 .*quantize.max_drop is 1.0.*"
                                          r"method: qat"):
        check_drop(results, max_drop=1.0, method="ptq", what="points of val macro_f1")


def test_qat_fine_tunes_then_converts(work) -> None:
    qat = Workdir(work.root.parent / "qat", {"quantize.method": "qat", "quantize.qat_epochs": 1,
                                             "quantize.max_drop": 100.0, "quantize.latency_runs": 3,
                                             "quantize.calibration_size": 32})
    for name in ("prepared", "student"):
        (qat.path(name)).parent.mkdir(parents=True, exist_ok=True)
        (qat.path(name)).symlink_to(work.path(name), target_is_directory=True)
    qat.stage("quantize")
    metrics = qat.metrics("quantize")["int8"]
    assert metrics["method"] == "qat" and metrics["tflite"]["agreement"] >= 0.9


def test_calibration_draw_is_deterministic_and_distinct() -> None:
    first = calibration_indices(1000, 256, seed=42)
    assert np.array_equal(first, calibration_indices(1000, 256, seed=42))
    assert len(set(first.tolist())) == 256 and first.max() < 1000
    assert not np.array_equal(first, calibration_indices(1000, 256, seed=43))
    assert len(calibration_indices(10, 256, seed=0)) == 10


def test_int8_input_quantization_round_trips_within_half_a_step() -> None:
    detail = {"dtype": np.int8, "quantization": (0.0078, -1)}
    x = np.linspace(-0.99, 0.99, 101, dtype=np.float32)
    q = quantize_input(x, detail)
    assert q.dtype == np.int8
    assert np.abs(dequantize_output(q, detail) - x).max() <= 0.0078 / 2 + 1e-6
    assert quantize_input(np.array([50.0]), detail)[0] == 127


@pytest.mark.parametrize("reduce_range", [False, True])
def test_reduce_range_keeps_the_onnx_weights_to_7_bits(work, tmp_path, reduce_range) -> None:
    """quantize.onnx_reduce_range: the u8s8 kernels without VNNI saturate on full-range weights."""
    import onnx
    import torch
    from onnx import numpy_helper

    from distillery.quantize.onnx import quantize_int8

    out = tmp_path / "int8.onnx"
    calibration = [torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1]
    quantize_int8(work.path("quantized") / "student_fp32.onnx", calibration, out, "uint8", reduce_range)
    weights = [numpy_helper.to_array(t) for t in onnx.load(out).graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and t.dims]
    largest = max(int(np.abs(w.astype(np.int16)).max()) for w in weights)
    assert largest <= 64 if reduce_range else largest == 127
