"""Where results go: DVC metrics/plots files, and MLflow runs that never fail a stage.

MLflow defaults to a local sqlite store (``tracking.uri``; ``MLFLOW_TRACKING_URI`` overrides)
with an explicit artifact location. Any tracking failure is logged once as a warning and
tracking is switched off for the rest of the run.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import logging
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from distillery import atomic
from distillery.config import Paths, TrackingConfig

log = logging.getLogger(__name__)


def metrics_file(paths: Paths, stage: str) -> Path:
    return paths.metrics / f"{stage}.json"


def record_file(paths: Paths, stage: str) -> Path:
    return paths.records / f"{stage}.json"


def read_record(paths: Paths, stage: str) -> dict[str, Any]:
    return json.loads(record_file(paths, stage).read_text(encoding="utf-8"))


def add_to_record(paths: Paths, stage: str, **values: Any) -> None:
    """Add top-level ``values`` to a stage's record, if the stage wrote one."""
    try:
        record = read_record(paths, stage)
    except FileNotFoundError:
        return
    atomic.write_json(record_file(paths, stage), {**record, **values})


def without(tree: Mapping[str, Any], dotted_keys: Iterable[str]) -> dict[str, Any]:
    """A copy of ``tree`` without the given dotted keys (absent ones are ignored)."""
    pruned = copy.deepcopy(dict(tree))
    for dotted in dotted_keys:
        *parents, leaf = dotted.split(".")
        node: Any = pruned
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return pruned


def write_metrics(paths: Paths, stage: str, record: dict[str, Any], record_only: Iterable[str] = ()) -> None:
    """The stage's full record to ``paths.records``, and all of it but ``record_only`` to ``paths.metrics``.

    The DVC metrics files hold what a rerun from scratch reproduces byte for byte and what fits
    a column of ``dvc exp show``; ``record_only`` names the rest (timings, cache hits, object
    versions, per-class tables, file lists), which stays in the record for people and reports.
    """
    atomic.write_json(record_file(paths, stage), record)
    atomic.write_json(metrics_file(paths, stage), without(record, record_only))


def write_csv(target: Path, rows: list[Mapping[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(target, buffer.getvalue())


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Tracker:
    """An MLflow run for one stage; every call is a no-op after the first failure."""

    def __init__(self, cfg: TrackingConfig, stage: str) -> None:
        self.cfg, self.stage = cfg, stage
        self.active = cfg.enabled
        self._mlflow: Any = None

    @classmethod
    def disabled(cls) -> Tracker:
        """A tracker that records nothing (non-zero ranks of a data-parallel run)."""
        return cls(TrackingConfig(False, "", "", ""), "disabled")

    def _guard(self, what: str, fn: Callable[[], Any]) -> None:
        if not self.active:
            return
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - tracking must never fail a stage
            log.warning("MLflow tracking off for this run (%s failed: %s)", what, exc)
            self.active = False

    def __enter__(self) -> Tracker:
        def start() -> None:
            os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
            import mlflow

            self._mlflow = mlflow
            mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or self.cfg.uri)
            if mlflow.get_experiment_by_name(self.cfg.experiment) is None:
                location = Path(self.cfg.artifact_location).resolve().as_uri()
                mlflow.create_experiment(self.cfg.experiment, artifact_location=location)
            mlflow.set_experiment(self.cfg.experiment)
            mlflow.start_run(run_name=self.stage, tags={
                "stage": self.stage, "git_commit": git_commit(),
                "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
            })
        self._guard("start", start)
        return self

    def __exit__(self, exc_type, *_: Any) -> None:
        self._guard("end", lambda: self._mlflow.end_run("FAILED" if exc_type else "FINISHED"))

    def params(self, params: Mapping[str, Any]) -> None:
        flat = {k: str(v)[:500] for k, v in flatten(params).items()}
        self._guard("log_params", lambda: self._mlflow.log_params(flat))

    def metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        numeric = {k: float(v) for k, v in flatten(metrics).items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        self._guard("log_metrics", lambda: self._mlflow.log_metrics(numeric, step=step))

    def artifact_dict(self, obj: Any, name: str) -> None:
        self._guard("log_dict", lambda: self._mlflow.log_dict(obj, name))

    def artifacts(self, folder: Path, path: str) -> None:
        self._guard("log_artifacts", lambda: self._mlflow.log_artifacts(str(folder), artifact_path=path))
