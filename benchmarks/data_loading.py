"""Prepared-data loading throughput and prepare wall time on the demo dataset."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import median_seconds
from distillery import config
from distillery.data.batches import Normalizer
from distillery.data.demo import DemoSpec, write_multilabel
from distillery.data.prepare import prepare_dataset
from distillery.data.prepared import PreparedDataset

BATCH = 64


def run(params: config.Params, workdir: Path) -> dict[str, Any]:
    raw = params.paths.raw
    if not (raw / params.data.manifest).is_file():
        raw = workdir / "raw"
        write_multilabel(raw, DemoSpec())
    out = workdir / "prepared"
    prepare_s, prepare_all = median_seconds(
        lambda: prepare_dataset(params.data, raw, out, params.seed), repeats=3, warmup=0
    )
    train = PreparedDataset.open(out).split("train")
    normalize = Normalizer(params.model.input_mean, params.model.input_std)

    def one_epoch() -> None:
        for _, images, _ in train.batches(BATCH, shuffle=True, seed=0):
            normalize.images(images)

    epoch_s, epoch_all = median_seconds(one_epoch, repeats=5)
    return {
        "prepare_seconds": round(prepare_s, 2),
        "prepare_seconds_all": [round(t, 2) for t in prepare_all],
        "prepare_images": sum(split["images"] for split in PreparedDataset.open(out).manifest["splits"].values()),
        "load_images_per_second": round(len(train) / epoch_s),
        "load_detail": f"shuffled epochs of {len(train)} images, batch {BATCH}, "
                       f"{train.images.shape[1]}x{train.images.shape[2]}, uint8 memmap -> normalised float NCHW",
        "load_epoch_seconds_all": [round(t, 4) for t in epoch_all],
    }


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return run(config.load(), Path(tmp))
