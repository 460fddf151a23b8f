"""The wall time of each stage in the last ``dvc repro`` of this repository (``stage_seconds`` of its run).

One run each (the demo's training stages take minutes), not a median: read with that in mind.
"""

from __future__ import annotations

from typing import Any

from distillery import config
from distillery.tracking import read_record

STAGES = ("prepare", "pull_pretrained", "train", "distill", "quantize", "evaluate", "export")


def main() -> dict[str, Any]:
    paths = config.load().paths
    seconds = {}
    for stage in STAGES:
        try:
            seconds[stage] = read_record(paths, stage)["stage_seconds"]
        except (FileNotFoundError, KeyError):
            raise SystemExit(f"error: no stage_seconds for {stage} in {paths.records}/run/; "
                             "run `make demo` first") from None
    return {**{f"{stage}_seconds": value for stage, value in seconds.items()},
            "total_seconds": round(sum(seconds.values()), 1)}
