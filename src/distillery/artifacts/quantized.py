"""The quantized store (``paths.quantized``): what quantize writes and evaluate and export read.

``<quantized>/``
  ``student_int8.tflite``, ``student_fp32.tflite``   the mobile target and its fp32 reference
  ``student_int8.onnx``, ``student_fp32.onnx``       the server-CPU target and its fp32 reference
  ``meta.json``                                      the student's ``ModelMeta`` (task, labels, input spec)
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from distillery import atomic
from distillery.errors import ExportError
from distillery.models.checkpoint import ModelMeta

TARGETS = ("tflite", "onnx")
TFLITE_INT8 = "student_int8.tflite"
TFLITE_FP32 = "student_fp32.tflite"
ONNX_INT8 = "student_int8.onnx"
ONNX_FP32 = "student_fp32.onnx"
META = "meta.json"
INT8_FILES = {"tflite": TFLITE_INT8, "onnx": ONNX_INT8}


def write_meta(folder: Path, meta: ModelMeta) -> None:
    atomic.write_json(folder / META, asdict(meta))


def read_meta(folder: Path) -> ModelMeta:
    try:
        return ModelMeta(**json.loads((folder / META).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ExportError(f"{folder / META}: not found; run `dvc repro quantize` first") from None
