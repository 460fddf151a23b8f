"""Where results go: DVC metrics/plots files, and MLflow runs that never fail a stage.

MLflow defaults to a local sqlite store (``tracking.uri``; ``MLFLOW_TRACKING_URI`` overrides)
with an explicit artifact location, both in the main work tree even when DVC runs a queued or
temp experiment in a copy. Any tracking failure is logged once as a warning and tracking is
switched off for the rest of the run.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import fcntl
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from distillery import atomic
from distillery.config import Paths, TrackingConfig

log = logging.getLogger(__name__)

SQLITE = "sqlite:///"
EXPERIMENT_KIND, CLASSIC_ML = "mlflow.experimentKind", "custom_model_development"  # the UI's classic ML view
MLFLOW_MODEL_CODE = Path(__file__).parent / "export" / "mlflow_model.py"


RUN_DETAILS = frozenset({
    "seconds", "stage_seconds", "images_per_second", "epoch_timings", "latency_ms", "fp32_latency_ms",
    "latency_ratio", "latency_ms_by_activation_type", "from_cache", "downloaded_bytes", "seconds_per_image",
})  # keys, at any depth of a record, whose values say how this run went rather than what it produced


def metrics_file(paths: Paths, stage: str) -> Path:
    return paths.metrics / f"{stage}.json"


def record_file(paths: Paths, stage: str) -> Path:
    return paths.records / f"{stage}.json"


def run_details_file(paths: Paths, stage: str) -> Path:
    return paths.records / "run" / f"{stage}.json"


def read_metrics(paths: Paths, stage: str) -> dict[str, Any]:
    return json.loads(metrics_file(paths, stage).read_text(encoding="utf-8"))


def read_record(paths: Paths, stage: str) -> dict[str, Any]:
    """A stage's record, with the details of the run that wrote it (timings, cache hits) where this
    checkout still has them: they are not versioned, so after a ``dvc checkout`` of another run's
    record they are left out rather than mixed in."""
    record_bytes = record_file(paths, stage).read_bytes()
    record = json.loads(record_bytes)
    details = _read_run_details(paths, stage)
    if details.pop("record_sha256", None) != hashlib.sha256(record_bytes).hexdigest():
        return record
    return merged(record, details)


def _read_run_details(paths: Paths, stage: str) -> dict[str, Any]:
    try:
        return json.loads(run_details_file(paths, stage).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def add_run_details(paths: Paths, stage: str, **values: Any) -> None:
    """Add top-level ``values`` to the details of the run that wrote the stage's record, if it wrote one."""
    try:
        record_sha256 = hashlib.sha256(record_file(paths, stage).read_bytes()).hexdigest()
    except FileNotFoundError:
        return
    details = _read_run_details(paths, stage)
    if details.get("record_sha256") != record_sha256:
        details = {"record_sha256": record_sha256}
    _write_run_details(paths, stage, {**details, **values})


def _write_run_details(paths: Paths, stage: str, details: dict[str, Any]) -> None:
    target = run_details_file(paths, stage)
    target.parent.mkdir(parents=True, exist_ok=True)
    ignore = target.parent / ".gitignore"
    if not ignore.exists():
        atomic.write_text(ignore, "# how each run went (timings, cache hits): not versioned, see tracking.py\n*\n")
    atomic.write_json(target, details)


def split_run_details(tree: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``tree`` without the ``RUN_DETAILS`` keys, and those keys alone (at the same places)."""
    kept: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for key, value in tree.items():
        if key in RUN_DETAILS:
            details[key] = value
        elif isinstance(value, Mapping):
            kept[key], found = split_run_details(value)
            if found:
                details[key] = found
        else:
            kept[key] = value
    return kept, details


def merged(tree: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``tree`` with ``extra``'s keys added at the same places (the inverse of ``split_run_details``)."""
    result = dict(tree)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


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
    """The stage's record to ``paths.records``, and all of it but ``record_only`` to ``paths.metrics``.

    ``record`` is keyed by whose results it holds (``teacher``, ``student``, ``int8``, ``bundle``...),
    so that every metric name says whose it is. The DVC metrics file holds what a rerun from scratch
    reproduces byte for byte and what fits a column of ``dvc exp show``; ``record_only`` names the
    rest (per-class tables, object versions, file lists), kept in the record, a DVC output too. How
    the run went (``RUN_DETAILS``: timings, latencies, cache hits) changes on every rerun, so it
    goes to an unversioned file beside the record: ``dvc repro -f`` then leaves ``dvc.lock`` as it was.
    """
    reproducible, details = split_run_details(record)
    atomic.write_json(record_file(paths, stage), reproducible)
    record_sha256 = hashlib.sha256(record_file(paths, stage).read_bytes()).hexdigest()
    _write_run_details(paths, stage, {"record_sha256": record_sha256, **details})
    atomic.write_json(metrics_file(paths, stage), without(reproducible, record_only))


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


def dvc_lock_hashes(lock: Path, skip_stage: str) -> dict[str, str]:
    """``{"dvc.lock:<out>": md5}`` for every output in ``lock`` but ``skip_stage``'s (the running stage's)."""
    try:
        stages = yaml.safe_load(lock.read_text(encoding="utf-8")).get("stages", {})
    except (FileNotFoundError, AttributeError, yaml.YAMLError):
        return {}
    return {f"dvc.lock:{out['path']}": out.get("md5", "")
            for name, stage in stages.items() if name != skip_stage for out in stage.get("outs", [])}


def main_work_tree() -> Path:
    """The repository a run belongs to. DVC runs queued and temp experiments in a copy under
    ``.dvc/tmp/exps`` that it deletes afterwards, and names the original in ``DVC_ROOT``; a store
    resolved inside the copy would be deleted with it."""
    return Path(os.environ.get("DVC_ROOT") or ".").resolve()


def tracking_uri(cfg: TrackingConfig) -> str:
    """``MLFLOW_TRACKING_URI`` or ``tracking.uri``, a relative sqlite path resolved in the main work tree."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.uri
    if uri.startswith(SQLITE) and not uri.removeprefix(SQLITE).startswith("/"):
        return SQLITE + str(main_work_tree() / uri.removeprefix(SQLITE))
    return uri


def artifact_location(cfg: TrackingConfig) -> str:
    """``tracking.artifact_location``: a URI (``s3://mlflow/`` with ``MLFLOW_S3_ENDPOINT_URL``) as it
    is, a relative path in the main work tree. MLflow stores it with the experiment when it creates it."""
    if "://" in cfg.artifact_location:
        return cfg.artifact_location
    return (main_work_tree() / cfg.artifact_location).as_uri()


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Held while a run opens a sqlite store. MLflow creates the store's tables on first use, and two
    experiments starting together (``dvc queue start -j 2``) would both run the migrations and leave
    the store broken (``table _alembic_tmp_experiments already exists``)."""
    if not uri.startswith(SQLITE):
        yield
        return
    lock = Path(uri.removeprefix(SQLITE) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bundle_requirements() -> list[str]:
    """What the bundle's predict.py imports, pinned to the versions that checked its parity."""
    found = []
    for name in ("numpy", "pillow", "ai-edge-litert", "onnxruntime"):
        try:
            found.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(name)
    return found


class Tracker:
    """An MLflow run for one stage; every call is a no-op after the first failure.

    Runs are tagged with the stage, the git commit and the DVC experiment name (``DVC_EXP_NAME``);
    the experiment is tagged for MLflow's classic ML view (not its GenAI one).
    """

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
            uri = tracking_uri(self.cfg)
            mlflow.set_tracking_uri(uri)
            with store_lock(uri):
                experiment = mlflow.get_experiment_by_name(self.cfg.experiment)
                if experiment is None:
                    mlflow.create_experiment(self.cfg.experiment, artifact_location=artifact_location(self.cfg),
                                             tags={EXPERIMENT_KIND: CLASSIC_ML})
                elif experiment.tags.get(EXPERIMENT_KIND) != CLASSIC_ML:
                    mlflow.MlflowClient().set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND, CLASSIC_ML)
                mlflow.set_experiment(self.cfg.experiment)
            mlflow.start_run(run_name=self.stage, tags={
                "stage": self.stage, "git_commit": git_commit(),
                "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
                "dvc_baseline_rev": os.environ.get("DVC_EXP_BASELINE_REV", ""),
            })
        self._guard("start", start)
        return self

    def __exit__(self, exc_type, *_: Any) -> None:
        self._guard("end", lambda: self._mlflow.end_run("FAILED" if exc_type else "FINISHED"))

    def params(self, params: Mapping[str, Any]) -> None:
        flat = {k: str(v)[:500] for k, v in flatten(params).items()}
        self._guard("log_params", lambda: self._mlflow.log_params(flat))

    def metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        numeric = {k: float(v) for k, v in flatten(metrics).items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        self._guard("log_metrics", lambda: self._mlflow.log_metrics(numeric, step=step))

    def image(self, image: Any, name: str) -> None:
        """An H x W x 3 uint8 array as a PNG artifact at ``name``."""
        self._guard("log_image", lambda: self._mlflow.log_image(image, artifact_file=name))

    def artifact_dict(self, obj: Any, name: str) -> None:
        self._guard("log_dict", lambda: self._mlflow.log_dict(obj, name))

    def artifacts(self, folder: Path, path: str) -> None:
        self._guard("log_artifacts", lambda: self._mlflow.log_artifacts(str(folder), artifact_path=path))

    def register_bundle(self, folder: Path, model_name: str, tags: Mapping[str, str]) -> None:
        """Log the bundle as an MLflow pyfunc model (``export/mlflow_model.py``) and register a version
        of ``model_name`` with ``tags`` (the git commit, the DVC lock hashes it was built from)."""
        def log_and_register() -> None:
            model = self._mlflow.pyfunc.log_model(
                name="bundle", python_model=str(MLFLOW_MODEL_CODE), artifacts={"bundle": str(folder)},
                pip_requirements=bundle_requirements())
            version = self._mlflow.register_model(model.model_uri, model_name, tags=dict(tags))
            log.info("registered the bundle in MLflow as %s version %s", model_name, version.version)
        self._guard("register the bundle", log_and_register)
