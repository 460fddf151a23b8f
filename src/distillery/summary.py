"""``python -m distillery.summary``: what the last run produced, in a few lines (``make demo`` ends with it)."""

from __future__ import annotations

import json
import sys
from typing import Any

from distillery import config
from distillery.errors import DistilleryError
from distillery.tasks import get_task
from distillery.tracking import read_record

STAGES = ("train", "distill", "quantize", "evaluate", "export")


def _read(paths: config.Paths, stage: str) -> dict[str, Any] | None:
    try:
        return read_record(paths, stage)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def summary(params: config.Params) -> str:
    records = {stage: _read(params.paths, stage) for stage in STAGES}
    missing = [stage for stage, found in records.items() if found is None]
    if missing:
        return f"not run yet: {', '.join(missing)} (run `dvc repro`)"
    student = params.distill.student
    names = {"teacher": f"{params.model.family}/{params.model.size}", "student": f"{student.family}/{student.size}"}
    return "\n".join(get_task(params.task).summary_lines(records, names, params.paths.export))


def main() -> None:
    try:
        print(summary(config.load()))
    except DistilleryError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
