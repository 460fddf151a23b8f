"""A tiny, self-contained pipeline working directory for stage-level tests (no DVC involved)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from distillery.data.demo import DemoSpec, write_multilabel
from distillery.data.prepare import prepare_dataset
from distillery.sandbox import Sandbox
from distillery.tasks import get_task

REPO = Path(__file__).resolve().parents[1]

TINY = {**get_task("classification").tiny_params, "tracking.enabled": False}


class Workdir(Sandbox):
    """A sandbox on the task's tiny params (small models, few epochs), tracking off."""

    def __init__(self, root: Path, overrides: dict[str, Any], task: str = "classification") -> None:
        tiny = TINY if task == "classification" else {**get_task(task).tiny_params, "tracking.enabled": False}
        super().__init__(root, {**tiny, "task": task, **overrides})

    def prepare(self, counts: tuple[int, int, int] = (128, 48, 48)) -> None:
        write_multilabel(self.path("raw"), DemoSpec(counts=counts, seed=7))
        prepare_dataset(self.params.data, self.path("raw"), self.path("prepared"), self.params.seed)

    def popen_stage(self, name: str) -> subprocess.Popen:
        """The stage as a terminal starts it: with Ctrl-C's default handling, even under a runner that
        ignores SIGINT (a background job does, and Python then never raises KeyboardInterrupt)."""
        return subprocess.Popen([sys.executable, "-m", f"stages.{name}"], cwd=self.root, env=self.stage_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
