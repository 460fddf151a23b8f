"""pull_pretrained: the published weights of the teacher (``model.*``) and the student (``distill.student.*``).

Each comes from ``<remote.prefix>/<family>/<size>/`` in the ``remote.bucket`` and lands in
``paths.pretrained/teacher`` and ``paths.pretrained/student``: two outputs, so that a change of
student does not rerun the teacher's training.
"""

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from distillery.config import Params
from distillery.remote import settings as s3settings
from distillery.remote.client import make_client
from distillery.remote.pull import pull_weights
from distillery.remote.settings import S3Settings
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import Tracker, without, write_metrics

TASK_PARTS = ()  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def pull_pretrained(params: Params) -> None:
    task = get_task(params.task)  # a typo fails here, not as a missing S3 object
    task.check_family(params.model.family, params.model.size)
    task.check_family(params.distill.student.family, params.distill.student.size, key="distill.student")
    settings = s3settings.resolve()
    s3 = make_client(settings)
    wanted: dict[str, tuple[str, Path]] = {
        "teacher": (f"{params.model.family}/{params.model.size}", params.paths.pretrained_teacher),
        "student": (f"{params.distill.student.family}/{params.distill.student.size}", params.paths.pretrained_student),
    }
    with Tracker(params.tracking, "pull_pretrained") as tracker:
        tracker.params({"remote": asdict(params.remote), **{role: name for role, (name, _) in wanted.items()}})
        metrics = pull_all(s3, settings, params, wanted)
        write_metrics(params.paths, "pull_pretrained", {"pretrained": metrics},
                      record_only=[f"pretrained.{role}.files" for role in wanted])  # object versions and checksums
        tracker.metrics(without(metrics, [f"{role}.files" for role in wanted]))
        tracker.artifact_dict(metrics, "pulled.json")  # which object versions, with their sha256


def pull_all(s3: BaseClient, settings: S3Settings, params: Params,
             wanted: dict[str, tuple[str, Path]]) -> dict[str, Any]:
    metrics = {}
    for role, (name, out) in wanted.items():
        started = time.perf_counter()
        files = pull_weights(s3, settings, params.remote.bucket, params.remote.prefix, name, out, params.paths.cache,
                             params.remote.retries)
        seconds = time.perf_counter() - started
        metrics[role] = {
            "name": name,
            "files": {f.object.rsplit("/", 1)[-1]: asdict(f) for f in files},
            "bytes": sum(f.bytes for f in files),
            "downloaded_bytes": sum(f.bytes for f in files if not f.from_cache),
            "from_cache": all(f.from_cache for f in files),
            "seconds": round(seconds, 3),
        }
        log.info("pulled the %s's %s: %d file(s), %.1f MiB, %s, %.2f s", role, name, len(files),
                 metrics[role]["bytes"] / 2**20, "all from cache" if metrics[role]["from_cache"] else "downloaded",
                 seconds)
    return metrics


if __name__ == "__main__":
    run_stage("pull_pretrained", pull_pretrained, parts=TASK_PARTS)
