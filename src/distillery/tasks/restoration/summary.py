"""Restoration's lines of the run summary (``python -m distillery.summary``), each beside its bar.

The bars are the restoration issue's numbers to reach on the demo; a line that misses its bar says
so (``MISSED``) instead of hiding it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillery.artifacts.quantized import TARGETS

TEACHER_GAIN_DB = 8.0        # teacher above the degraded input
STUDENT_RATIO, STUDENT_GAP_DB = 0.3, 0.5  # student parameters vs the teacher's; PSNR at most this below
AHEAD_OF_CLASSICAL_DB = 0.5  # int8 student ahead of scikit-image's best denoiser
FASTER_THAN_BM3D = 10.0      # per image
MAX_DROP_DB, MAX_SIZE_RATIO = 0.2, 0.45
MAX_LATENCY_RATIO = {"tflite": 0.9, "onnx": 1.1}
PARITY_DB = 0.01
SCIKIT_IMAGE = ("tv", "wavelet", "nl_means")
# timings are run details, not versioned: after a checkout of another run's records they are gone
NOT_MEASURED = "timings not measured here"


def bar(ok: bool, text: str) -> str:
    return f"[{'ok' if ok else 'MISSED'}: {text}]"


def summary_lines(records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
    teacher, student = records["train"]["teacher"], records["distill"]["student"]
    int8, bundle = records["quantize"]["int8"], records["evaluate"]["bundle"]
    test = bundle["test"]
    parity = records["export"]["bundle"]["parity"]
    teacher_test, student_test = test["teacher_fp32"]["psnr"], test["student_fp32"]["psnr"]
    gain, gap = teacher_test - test["degraded_input"]["psnr"], student_test - teacher_test
    lines = [
        f"teacher  {names['teacher']}: test PSNR {teacher_test:.2f} dB (fp32), {gain:+.2f} dB over the degraded input "
        f"{bar(gain >= TEACHER_GAIN_DB, f'>= +{TEACHER_GAIN_DB:g}')}; val {teacher['val']['psnr']:.2f} dB; "
        f"{teacher['parameters'] / 1e6:.2f}M parameters",
        f"student  {names['student']}: test PSNR {student_test:.2f} dB (fp32), {gap:+.2f} dB from the teacher "
        f"{bar(gap >= -STUDENT_GAP_DB, f'>= -{STUDENT_GAP_DB:g}')}; val {student['val']['psnr']:.2f} dB; "
        f"{student['parameter_ratio']:.2f}x the teacher's parameters "
        f"{bar(student['parameter_ratio'] <= STUDENT_RATIO, f'<= {STUDENT_RATIO:g}x')}",
    ]
    for target in TARGETS:
        q, most = int8[target], MAX_LATENCY_RATIO[target]
        latency = (f"latency {q['latency_ratio']:.2f}x fp32 {bar(q['latency_ratio'] <= most, f'<= {most:g}x')}"
                   if "latency_ratio" in q else NOT_MEASURED)
        lines.append(f"int8 {target:<6} {q['size_bytes'] / 1024:.0f} KiB, {q['size_ratio']:.2f}x fp32 "
                     f"{bar(q['size_ratio'] <= MAX_SIZE_RATIO, f'<= {MAX_SIZE_RATIO:g}x')}; val PSNR drop "
                     f"{q['metric_drop']:.3f} dB {bar(q['metric_drop'] <= MAX_DROP_DB, f'<= {MAX_DROP_DB:g}')}; "
                     f"{latency}")
    classical = max((name for name in SCIKIT_IMAGE if name in test), key=lambda name: test[name]["psnr"])
    ahead = test["tflite"]["psnr"] - test[classical]["psnr"]
    lines.append(f"test     int8 TFLite {test['tflite']['psnr']:.2f} dB, ONNX {test['onnx']['psnr']:.2f} dB; degraded "
                 f"input {test['degraded_input']['psnr']:.2f} dB; best of scikit-image ({classical}) "
                 f"{test[classical]['psnr']:.2f} dB: {ahead:+.2f} dB "
                 f"{bar(ahead >= AHEAD_OF_CLASSICAL_DB, f'>= +{AHEAD_OF_CLASSICAL_DB:g}')}")
    if "bm3d" in test:
        behind = test["tflite"]["psnr"] - test["bm3d"]["psnr"]
        bm3d_seconds = bundle.get("peers", {}).get("bm3d", {}).get("seconds")
        ours = parity["tflite"].get("seconds_per_image")
        speed = f"; {NOT_MEASURED}"
        if bm3d_seconds is not None and ours is not None:
            speedup = bm3d_seconds / ours
            speed = (f" at {bm3d_seconds:.1f} s per image; the bundle {ours:.2f} s: {speedup:.0f}x faster "
                     f"{bar(speedup >= FASTER_THAN_BM3D, f'>= {FASTER_THAN_BM3D:g}x')}")
        lines.append(f"         BM3D {test['bm3d']['psnr']:.2f} dB ({behind:+.2f} dB for int8){speed}")
    gaps = {backend: parity[backend]["psnr_gap_db"] for backend in ("tflite", "onnx")}
    lines.append(f"bundle   {export_dir}/: predict.py's test PSNR minus the pipeline's: "
                 f"{gaps['tflite']:+.4f} dB TFLite, {gaps['onnx']:+.4f} dB ONNX "
                 f"{bar(max(map(abs, gaps.values())) <= PARITY_DB, f'within {PARITY_DB:g}')}")
    return lines
