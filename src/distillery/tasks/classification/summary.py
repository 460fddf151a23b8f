"""Classification's lines of the run summary (``python -m distillery.summary``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillery.artifacts.quantized import TARGETS


def summary_lines(records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
    train, distill, quantize, evaluate, export = (records[s] for s in ("train", "distill", "quantize", "evaluate",
                                                                        "export"))
    lines = [
        f"teacher  {names['teacher']}: val macro-F1 {train['val']['macro_f1']:.4f}, "
        f"{train['parameters'] / 1e6:.2f}M parameters",
        f"student  {names['student']}: val macro-F1 {distill['student']['val']['macro_f1']:.4f} "
        f"({100 * distill['macro_f1_kept']:.1f}% of the teacher) with {distill['parameter_ratio']:.2f}x its parameters",
    ]
    for target in TARGETS:
        q = quantize[target]
        lines.append(f"int8 {target:<6} {q['size_bytes'] / 1024:.0f} KiB ({q['size_ratio']:.2f}x fp32), "
                     f"latency {q['latency_ratio']:.2f}x fp32, macro-F1 drop {q['metric_drop']:.2f} points, "
                     f"{100 * q['agreement']:.2f}% label agreement")
    test = evaluate["test"]
    lines.append(f"test     macro-F1 {test['flat']['macro_f1']:.4f} at 0.5 -> {test['tuned']['macro_f1']:.4f} "
                 f"with tuned thresholds ({evaluate['test_gain_points']:+.2f} points)")
    parity = {backend: 100 * export["parity"][backend]["pipeline_agreement_images"] for backend in TARGETS}
    lines.append(f"bundle   {export_dir}/ (same decisions as the pipeline on {parity['tflite']:.2f}% of test "
                 f"images with TFLite, {parity['onnx']:.2f}% with ONNX)")
    return lines
