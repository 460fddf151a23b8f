"""Writers for DVC metrics files (and, later, MLflow runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillery import atomic
from distillery.config import Paths


def metrics_file(paths: Paths, stage: str) -> Path:
    return Path(paths.metrics) / f"{stage}.json"


def write_metrics(paths: Paths, stage: str, metrics: dict[str, Any]) -> Path:
    target = metrics_file(paths, stage)
    atomic.write_json(target, metrics)
    return target
