"""A pipeline run in a folder of its own, outside DVC: for the tests and the quality benchmark.

The folder gets this repository's params.yaml with some values changed, its dvc.yaml (stages read
the params they declare there) and the bundle scripts of ``examples/``; each stage then runs through
its real entry point (``python -m stages.<name>``) with the folder as working directory, exactly as
``dvc repro`` would run it, so what a sandbox measures is what the pipeline does.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from distillery import config
from distillery.tracking import read_record

REPO = Path(__file__).resolve().parents[2]


class Sandbox:
    def __init__(self, root: Path, overrides: dict[str, Any]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        raw = yaml.safe_load((REPO / config.PARAMS_FILE).read_text())
        for key, value in overrides.items():
            config.set_dotted(raw, key, value)
        (root / config.PARAMS_FILE).write_text(yaml.safe_dump(raw, sort_keys=False))
        (root / config.PIPELINE_FILE).write_bytes((REPO / config.PIPELINE_FILE).read_bytes())
        (root / "examples").mkdir(exist_ok=True)
        for script in (REPO / "examples").glob("*.py"):  # the bundles' scripts, read from the repository root
            (root / "examples" / script.name).write_bytes(script.read_bytes())
        self.params = config.load(root / config.PARAMS_FILE)
        self.env: dict[str, str] = {}  # extra environment for the stages (S3 settings)

    def use_s3(self, settings) -> None:
        self.env.update(settings.environment())

    def stage_env(self) -> dict[str, str]:
        return {**os.environ, **self.env, "PYTHONPATH": str(REPO),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def path(self, key: str) -> Path:
        return self.root / getattr(self.params.paths, key)

    def metrics(self, stage: str) -> dict[str, Any]:
        """What DVC compares: ``metrics/<stage>.json``."""
        return json.loads((self.path("metrics") / f"{stage}.json").read_text())

    def record(self, stage: str) -> dict[str, Any]:
        """The stage's full record (``metrics/records/<stage>.json``) with the details of its run."""
        return read_record(dataclasses.replace(self.params.paths, records=self.path("records")), stage)

    def stage(self, name: str, check: bool = True, **popen: Any) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=self.root, env=self.stage_env(),
                                capture_output=True, text=True, **popen)
        if check and result.returncode != 0:
            raise RuntimeError(f"stage {name} in {self.root} failed:\n{result.stderr[-3000:]}")
        return result
