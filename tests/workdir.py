"""A tiny, self-contained pipeline working directory for stage-level tests (no DVC involved)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from distillery import config
from distillery.data.demo import DemoSpec, write_multilabel
from distillery.data.prepare import prepare_dataset

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "data.image_size": 32,
    "model.family": "resnet",
    "model.size": "tiny",
    "model.pretrained": False,
    "train.epochs": 3,
    "train.head_epochs": 1,
    "train.batch_size": 32,
    "train.lr": 0.01,
    "train.warmup_epochs": 0.2,
    "train.patience": 5,
    "distill.student.size": "tiny",
    "distill.student.pretrained": False,
    "distill.epochs": 2,
    "tracking.enabled": False,
}


class Workdir:
    def __init__(self, root: Path, overrides: dict[str, Any]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        raw = yaml.safe_load((REPO / "params.yaml").read_text())
        for key, value in {**TINY, **overrides}.items():
            config.set_dotted(raw, key, value)
        (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        (root / "examples").mkdir(exist_ok=True)
        (root / "examples" / "predict.py").write_bytes((REPO / "examples" / "predict.py").read_bytes())
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
        """The stage's full record: ``metrics/records/<stage>.json``."""
        return json.loads((self.path("records") / f"{stage}.json").read_text())

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
        return subprocess.Popen([sys.executable, "-m", f"stages.{name}"], cwd=self.root, env=self._stage_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
