"""The ``dvc`` command of this environment, found beside the running Python even when not on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def dvc_command(*args: str) -> list[str]:
    beside = Path(sys.executable).parent / "dvc"
    return [str(beside) if beside.is_file() else shutil.which("dvc") or "dvc", *args]
