"""``python -m distillery.summary``: what the last run produced, in a few lines (``make demo`` ends with it)."""

from __future__ import annotations

import json
import sys
from typing import Any

from distillery import config
from distillery.quantize import TARGETS
from distillery.tracking import read_record


def _read(paths: config.Paths, stage: str) -> dict[str, Any] | None:
    try:
        return read_record(paths, stage)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def summary(params: config.Params) -> str:
    records = {stage: _read(params.paths, stage) for stage in ("train", "distill", "quantize", "evaluate", "export")}
    missing = [stage for stage, found in records.items() if found is None]
    if missing:
        return f"not run yet: {', '.join(missing)} (run `dvc repro`)"
    train, distill, quantize, evaluate, export = records.values()
    student = params.distill.student
    lines = [
        f"teacher  {params.model.family}/{params.model.size}: val macro-F1 {train['val']['macro_f1']:.4f}, "
        f"{train['parameters'] / 1e6:.2f}M parameters",
        f"student  {student.family}/{student.size}: val macro-F1 {distill['student']['val']['macro_f1']:.4f} "
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
    lines.append(f"bundle   {params.paths.export}/ (same decisions as the pipeline on {parity['tflite']:.2f}% of test "
                 f"images with TFLite, {parity['onnx']:.2f}% with ONNX)")
    return "\n".join(lines)


def main() -> None:
    try:
        print(summary(config.load()))
    except config.ConfigError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
