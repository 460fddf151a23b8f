"""export: the bundle an app loads (``paths.export``), checked for parity, optionally published."""

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from distillery.artifacts import quantized
from distillery.artifacts.quantized import TARGETS
from distillery.config import Params
from distillery.errors import DataError
from distillery.export.bundle import build_bundle
from distillery.remote import settings as s3settings
from distillery.remote.client import make_client
from distillery.remote.publish import publish
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import (
    Tracker,
    dvc_lock_hashes,
    git_commit,
    metrics_file,
    read_metrics,
    read_record,
    write_metrics,
)

TASK_PARTS = ("export", "scoring")  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def upstream_metrics(params: Params, stage: str) -> dict[str, Any]:
    """What an earlier stage measured: its metrics file, one of export's dependencies in dvc.yaml."""
    try:
        return read_metrics(params.paths, stage)
    except FileNotFoundError:
        raise DataError(f"{metrics_file(params.paths, stage)}: not found; run `dvc repro {stage}` first") from None


def lineage(params: Params, primary: str) -> dict[str, Any]:
    meta = quantized.read_meta(params.paths.quantized)
    quantize = upstream_metrics(params, "quantize")["int8"]
    student = {"family": meta.family, "size": meta.size, "distillation": meta.lineage["distillation"],
               f"val_{primary}": upstream_metrics(params, "distill")["student"]["val"][primary]}
    quantization = {"method": quantize["method"], "calibration_images": quantize["calibration_images"],
                    "onnx_activation_type": quantize["onnx"]["activation_type"]}
    for target in TARGETS:
        quantization[f"{target}_size_ratio"] = quantize[target]["size_ratio"]
        quantization[f"{target}_metric_drop"] = quantize[target]["metric_drop"]
    return {"data_fingerprint": meta.lineage["data_fingerprint"], "teacher": meta.lineage["teacher"],
            "student": student, "quantization": quantization}


def export(params: Params) -> None:
    task = get_task(params.task)
    with Tracker(params.tracking, "export") as tracker:
        tracker.params({"export": asdict(params.export)})
        test = task.bundle_metrics(read_record(params.paths, "evaluate")["bundle"])
        result = build_bundle(task, params, test, lineage(params, task.primary_metric))
        if params.export.publish:
            settings = s3settings.resolve()
            name = f"{params.export.name}/{git_commit()[:7]}"
            publish(make_client(settings), settings, params.remote.bucket, "exported", params.paths.export, name,
                    {"source": "distillery export", "name": name})
            log.info("published the bundle to s3://%s/exported/%s/", params.remote.bucket, name)
        write_metrics(params.paths, "export", {"bundle": result}, record_only=["bundle.files"])
        tracker.metrics(result["parity"])
        tracker.register_bundle(params.paths.export, params.export.name, {
            "git_commit": git_commit(), "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
            **dvc_lock_hashes(Path("dvc.lock"), skip_stage="export")})
    log.info("bundle in %s: %s", params.paths.export, ", ".join(result["files"]))


if __name__ == "__main__":
    run_stage("export", export, parts=TASK_PARTS)
