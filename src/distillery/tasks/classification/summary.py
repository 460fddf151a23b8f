"""Classification's lines of the run summary (``python -m distillery.summary``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillery.artifacts.quantized import TARGETS


def summary_lines(records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
    teacher, student = records["train"]["teacher"], records["distill"]["student"]
    int8, bundle = records["quantize"]["int8"], records["evaluate"]["bundle"]
    lines = [
        f"teacher  {names['teacher']}: val macro-F1 {teacher['val']['macro_f1']:.4f}, "
        f"{teacher['parameters'] / 1e6:.2f}M parameters",
        f"student  {names['student']}: val macro-F1 {student['val']['macro_f1']:.4f} "
        f"({100 * student['macro_f1_kept']:.1f}% of the teacher) with {student['parameter_ratio']:.2f}x its parameters",
    ]
    for target in TARGETS:
        q = int8[target]
        latency = f"latency {q['latency_ratio']:.2f}x fp32" if "latency_ratio" in q else "latency not measured here"
        lines.append(f"int8 {target:<6} {q['size_bytes'] / 1024:.0f} KiB ({q['size_ratio']:.2f}x fp32), "
                     f"{latency}, macro-F1 drop {q['metric_drop']:.2f} points, "
                     f"{100 * q['agreement']:.2f}% label agreement")
    test = bundle["test"]
    lines.append(f"test     macro-F1 {test['flat']['macro_f1']:.4f} at 0.5 -> {test['tuned']['macro_f1']:.4f} "
                 f"with tuned thresholds ({bundle['test_gain_points']:+.2f} points)")
    parity = {backend: 100 * records["export"]["bundle"]["parity"][backend]["pipeline_agreement_images"]
              for backend in TARGETS}
    lines.append(f"bundle   {export_dir}/ (same decisions as the pipeline on {parity['tflite']:.2f}% of test "
                 f"images with TFLite, {parity['onnx']:.2f}% with ONNX)")
    return lines
