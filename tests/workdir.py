"""A tiny, self-contained pipeline working directory for stage-level tests (no DVC involved)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from distillery import config
from distillery.data.demo import DemoSpec, write_multilabel
from distillery.data.prepare import prepare_dataset
from distillery.tasks import get_task
from distillery.tracking import read_record

REPO = Path(__file__).resolve().parents[1]

TINY = {**get_task("classification").tiny_params, "tracking.enabled": False}


class Workdir:
    def __init__(self, root: Path, overrides: dict[str, Any], task: str = "classification") -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        raw = yaml.safe_load((REPO / "params.yaml").read_text())
        tiny = TINY if task == "classification" else {**get_task(task).tiny_params, "tracking.enabled": False}
        for key, value in {**tiny, "task": task, **overrides}.items():
            config.set_dotted(raw, key, value)
        (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        (root / "dvc.yaml").write_bytes((REPO / "dvc.yaml").read_bytes())  # stages read their declared params
        (root / "examples").mkdir(exist_ok=True)
        for script in (REPO / "examples").glob("*.py"):  # the bundles' scripts, read from the repository root
            (root / "examples" / script.name).write_bytes(script.read_bytes())
        self.params = config.load(root / "params.yaml")
        self.env: dict[str, str] = {}  # extra environment for the stages (S3 settings)

    def use_s3(self, settings) -> None:
        self.env.update(settings.environment())

    def _stage_env(self) -> dict[str, str]:
        return {**os.environ, **self.env, "PYTHONPATH": str(REPO),
                "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def path(self, key: str) -> Path:
        return self.root / getattr(self.params.paths, key)

    def metrics(self, stage: str) -> dict[str, Any]:
        """What DVC compares: ``metrics/<stage>.json``."""
        return json.loads((self.path("metrics") / f"{stage}.json").read_text())

    def record(self, stage: str) -> dict[str, Any]:
        """The stage's full record (``metrics/records/<stage>.json``) with the details of its run."""
        return read_record(dataclasses.replace(self.params.paths, records=self.path("records")), stage)

    def prepare(self, counts: tuple[int, int, int] = (128, 48, 48)) -> None:
        write_multilabel(self.path("raw"), DemoSpec(counts=counts, seed=7))
        prepare_dataset(self.params.data, self.path("raw"), self.path("prepared"), self.params.seed)

    def stage(self, name: str, check: bool = True, **popen: Any) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=self.root, env=self._stage_env(),
                                capture_output=True, text=True, **popen)
        if check and result.returncode != 0:
            raise AssertionError(f"stage {name} failed:\n{result.stderr[-3000:]}")
        return result

    def popen_stage(self, name: str) -> subprocess.Popen:
        """The stage as a terminal starts it: with Ctrl-C's default handling, even under a runner that
        ignores SIGINT (a background job does, and Python then never raises KeyboardInterrupt)."""
        return subprocess.Popen([sys.executable, "-m", f"stages.{name}"], cwd=self.root, env=self._stage_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
