"""Running a pipeline stage: logging, params, and one clear line for any user error."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable

from distillery import config
from distillery.errors import DistilleryError, Interrupted
from distillery.tasks.base import parts_of_stage
from distillery.tracking import add_run_details

log = logging.getLogger("distillery")


def configure_environment() -> None:
    """Keep every library's caches inside the work tree, and telemetry off."""
    cache = os.path.abspath(".cache")
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(cache, "matplotlib"))
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(cache, "torchinductor"))
    os.environ.setdefault("KERAS_HOME", os.path.join(cache, "keras"))
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_stage(name: str, body: Callable[[config.Params], None], scoped: bool = True,
              parts: tuple[str, ...] = ()) -> None:
    """Load params.yaml, run ``body``, and turn a ``DistilleryError`` into exit code 1.

    ``body`` sees the params through ``config.Declared``: only what dvc.yaml declares for the stage
    (``scoped=False`` for the stage that validates the whole file), and may load only the task
    ``parts`` the stage declares (``TASK_PARTS``). The stage's wall time goes into the details of
    its run (``stage_seconds``, ``tracking.add_run_details``), for ``make bench``.
    """
    logging.basicConfig(level=logging.WARNING, format=f"[{name}] %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)  # our own progress; libraries (onnxscript, litert) only warn
    configure_environment()
    started = time.perf_counter()
    try:
        params = config.load()
        with parts_of_stage(name, parts):
            body(config.Declared(params, name, config.declared_params(name)) if scoped else params)
        seconds = time.perf_counter() - started
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 alone writes the record
            add_run_details(params.paths, name, stage_seconds=round(seconds, 2))
    except Interrupted as exc:
        print(f"{name}: interrupted: {exc}", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print(f"{name}: interrupted after {time.perf_counter() - started:.0f} s; outputs are written atomically, "
              "so none is half-written: run `dvc repro` again", file=sys.stderr)
        sys.exit(130)
    except DistilleryError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        sys.exit(1)
    log.info("done in %.1f s", seconds)
