"""A no-op ``dvc repro`` vs ``dvc status`` on this repository, both with nothing to do.

``dvc repro`` re-hashes what ``dvc status`` checks and then has nothing to run, so the ratio is
the price of typing ``dvc repro`` on an up-to-date pipeline. The two commands take turns.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from typing import Any

from distillery.dvc_cli import dvc_command

REPEATS = 5
PIPELINE = "dvc.yaml"  # the root pipeline (the demos in demos/ have their own)


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(dvc_command(*args), check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> dict[str, Any]:
    changed = json.loads(subprocess.run(dvc_command("status", "--json", PIPELINE), check=True, capture_output=True,
                                        text=True).stdout or "{}")
    if changed:
        raise SystemExit(f"error: the pipeline is not up to date ({', '.join(changed)}); run `make demo` first")
    times: dict[str, list[float]] = {"repro": [], "status": []}
    for _ in range(REPEATS):
        times["repro"].append(timed("repro", PIPELINE))
        times["status"].append(timed("status", PIPELINE))
    repro, status = statistics.median(times["repro"]), statistics.median(times["status"])
    return {"repeats": REPEATS, "noop_repro_seconds": round(repro, 2), "status_seconds": round(status, 2),
            "repro_vs_status_ratio": round(repro / status, 2)}
