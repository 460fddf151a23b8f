"""The restoration task on real photos: scikit-image's, Gaussian noise sigma 25, from scratch, one run.

Runs the stage entry points (prepare, train, distill, quantize, evaluate, export) in a throwaway
work folder on photos that ship with scikit-image: test astronaut and chelsea (the photos of the
restoration issue's calibration), val coffee, train rocket, immunohistochemistry, the Hubble deep
field and the left stereo motorcycle. No pretrained weights: NAFNet width 32 teacher, width 16
student (0.26x its parameters), output KD off (measured to cost PSNR at equal time). One seed, one
run: an anecdote of what the pipeline reaches in a few CPU minutes, not a claim.

    python -m benchmarks.restoration_photos            # writes benchmarks/restoration_photos.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.workdir import Workdir

from distillery import atomic
from distillery.tasks.restoration.photos import DEMO_SPLITS, write_photos

HERE = Path(__file__).parent
OVERRIDES = {
    "model.size": "w32", "distill.student.size": "w16", "train.epochs": 8, "train.batch_size": 8,
    "train.lr": 0.002, "train.patience": 8, "distill.epochs": 10, "distill.batch_size": 8, "distill.lr": 0.002,
    "distill.alpha": 1.0, "train.threads": 1, "quantize.calibration_size": 32, "quantize.max_drop": 1.0,
    "quantize.latency_runs": 10, "restoration.data.crop_size": 64, "restoration.tiles.size": 256,
    "restoration.tiles.overlap": 32, "restoration.data.degradation.noise_sigma": 25.0,
}
STAGES = ("prepare", "train", "distill", "quantize", "evaluate", "export")


def run(work_root: Path) -> dict[str, Any]:
    work = Workdir(work_root, OVERRIDES, "restoration")
    write_photos(work.path("raw"))
    seconds = {}
    for stage in STAGES:
        started = time.perf_counter()
        work.stage(stage)
        seconds[stage] = round(time.perf_counter() - started, 1)
    return {"stage_seconds": seconds, "params": OVERRIDES, "splits": DEMO_SPLITS,
            **{stage: work.record(stage) for stage in ("train", "distill", "quantize", "evaluate", "export")}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "restoration_photos.json")
    parser.add_argument("--work", type=Path, help="run in this (new) folder and keep it; default: a temp folder")
    args = parser.parse_args(argv)
    if args.work:
        results = run(args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="restoration-photos-") as tmp:
            results = run(Path(tmp))
    atomic.write_text(args.out, json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
