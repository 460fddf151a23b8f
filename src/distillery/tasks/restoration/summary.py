"""Restoration's lines of the run summary (``python -m distillery.summary``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillery.artifacts.quantized import TARGETS


def summary_lines(records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
    teacher, student = records["train"]["teacher"], records["distill"]["student"]
    int8, bundle = records["quantize"]["int8"], records["evaluate"]["bundle"]
    test = bundle["test"]
    lines = [
        f"teacher  {names['teacher']}: val PSNR {teacher['val']['psnr']:.2f} dB, "
        f"{teacher['parameters'] / 1e6:.2f}M parameters",
        f"student  {names['student']}: val PSNR {student['val']['psnr']:.2f} dB "
        f"({student['val']['psnr'] - teacher['val']['psnr']:+.2f} dB) with {student['parameter_ratio']:.2f}x "
        "the teacher's parameters",
    ]
    for target in TARGETS:
        q = int8[target]
        lines.append(f"int8 {target:<6} {q['size_bytes'] / 1024:.0f} KiB ({q['size_ratio']:.2f}x fp32), "
                     f"val PSNR drop {q['metric_drop']:.3f} dB")
    best = bundle["best_peer"]
    lines.append(f"test     int8 {test['tflite']['psnr']:.2f} dB vs degraded input "
                 f"{test['degraded_input']['psnr']:.2f} dB "
                 f"and best classical {best} {test[best]['psnr']:.2f} dB ({bundle['ahead_of_best_peer_db']:+.2f} dB)")
    parity = records["export"]["bundle"]["parity"]
    lines.append(f"bundle   {export_dir}/ (pixels within one grey level of the pipeline's: "
                 f"{100 * parity['tflite']['pipeline_agreement_images']:.2f}% TFLite, "
                 f"{100 * parity['onnx']['pipeline_agreement_images']:.2f}% ONNX)")
    return lines
