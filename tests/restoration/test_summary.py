"""The restoration summary: each number beside its bar, and no crash when the run's timings are gone."""

from __future__ import annotations

from pathlib import Path

from distillery.tasks.restoration.summary import NOT_MEASURED, summary_lines


def records(timings: bool) -> dict:
    psnr = {"tflite": 30.3, "onnx": 30.2, "teacher_fp32": 29.6, "student_fp32": 30.4, "degraded_input": 20.6,
            "tv": 28.8, "wavelet": 28.1, "nl_means": 29.2, "bm3d": 31.8}
    int8 = {target: {"size_bytes": 8192, "size_ratio": 0.44, "metric_drop": 0.02,
                     **({"latency_ratio": 0.8} if timings else {})} for target in ("tflite", "onnx")}
    parity = {backend: {"psnr_gap_db": 0.0, **({"seconds_per_image": 0.3} if timings else {})}
              for backend in ("tflite", "onnx")}
    return {"train": {"teacher": {"val": {"psnr": 27.7}, "parameters": 1_720_000}},
            "distill": {"student": {"val": {"psnr": 28.5}, "parameter_ratio": 0.26}},
            "quantize": {"int8": int8},
            "evaluate": {"bundle": {"test": {m: {"psnr": v} for m, v in psnr.items()},
                                    **({"peers": {"bm3d": {"seconds": 15.0}}} if timings else {})}},
            "export": {"bundle": {"parity": parity}}}


def test_every_bar_is_shown_and_the_speed_comes_from_the_run_details() -> None:
    lines = summary_lines(records(timings=True), {"teacher": "nafnet/w32", "student": "nafnet/w16"}, Path("out"))
    text = "\n".join(lines)
    assert "+9.00 dB over the degraded input [ok: >= +8]" in text
    assert "latency 0.80x fp32 [ok: <= 0.9x]" in text and "latency 0.80x fp32 [ok: <= 1.1x]" in text
    assert "(nl_means) 29.20 dB: +1.10 dB [ok: >= +0.5]" in text
    assert "at 15.0 s per image; the bundle 0.30 s: 50x faster [ok: >= 10x]" in text
    assert NOT_MEASURED not in text


def test_records_without_their_run_details_say_the_timings_are_not_measured() -> None:
    """After a checkout of another run's records the unversioned timings are left out (tracking.read_record)."""
    text = "\n".join(summary_lines(records(timings=False), {"teacher": "t", "student": "s"}, Path("out")))
    assert text.count(NOT_MEASURED) == 3 and "[MISSED" not in text
