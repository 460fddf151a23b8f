"""Thin entry points for the pipeline stages: ``python -m stages.<name>``."""

import importlib.util
import sys

if importlib.util.find_spec("distillery") is None:  # dvc ran the stage with a python outside .venv
    sys.exit(
        f"stages: error: the distillery package is not installed for {sys.executable}; run "
        "`source .venv/bin/activate` (after `make setup`) before dvc, or use the make targets"
    )
