"""The evaluation store (``paths.evaluation``): what evaluate writes and export reads.

``<evaluation>/``
  ``threshold_recommendation.json``  the decision rule tuned on val (the task's ``Rule.to_json``)
  ``test_decisions.npz``             the pipeline's own int8 decisions on test, per backend: parity's reference
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from distillery import atomic
from distillery.errors import ExportError

RECOMMENDATION = "threshold_recommendation.json"
TEST_DECISIONS = "test_decisions.npz"


def write_evaluation(out: Path, rule: dict[str, Any], decisions: dict[str, np.ndarray]) -> None:
    atomic.write_json(out / RECOMMENDATION, rule)
    with atomic.atomic_path(out / TEST_DECISIONS) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **decisions)


def read_rule(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / RECOMMENDATION).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{folder / RECOMMENDATION}: not found; run `dvc repro evaluate` first") from None


def read_test_decisions(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / TEST_DECISIONS) as stored:
        return {name: stored[name] for name in stored.files}
