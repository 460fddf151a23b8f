"""Training throughput of the stage's loop vs a bare PyTorch loop: same model, data, batch, threads.

Both use channels-last memory (the stage does; a bare loop without it runs ~17% slower here, which
would flatter the ratio) and the params' ``train.precision`` (bf16 autocast around the forward).
The stage's loop is measured twice: with the shipped augmentation (what the stage really runs) and
with augmentation off (the loop's own overhead); validation excluded.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from distillery import config
from distillery.data.batches import Normalizer, to_tensor
from distillery.data.demo import DemoSpec, write_multilabel
from distillery.data.prepare import prepare_dataset
from distillery.data.prepared import PreparedDataset, PreparedSplit
from distillery.models.inference import logits_of
from distillery.models.registry import create_model
from distillery.tasks import get_task
from distillery.tasks.classification.augment import Augmenter
from distillery.tasks.classification.losses import classification_loss
from distillery.train.loop import FitSettings, Schedule, Trainer, autocast
from distillery.train.teacher import task_scorer

STEPS = 60
REPEATS = 5


def bare_loop(model: torch.nn.Module, split: PreparedSplit, normalizer: Normalizer, batch: int,
              precision: str) -> float:
    """Images per second of the plainest correct loop: shuffle, normalise, forward, backward, AdamW.

    It reads the same first ``STEPS * batch`` images the stage loop reads, in a shuffled order.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    order = np.random.default_rng(0).permutation(STEPS * batch)
    start = time.perf_counter()
    for i in range(STEPS):
        idx = np.sort(order[i * batch : (i + 1) * batch])
        x = normalizer(to_tensor(split.images[idx]))
        y = torch.from_numpy(split.labels[idx]).float()
        with autocast(torch.device("cpu"), precision):
            loss = F.binary_cross_entropy_with_logits(logits_of(model, x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return STEPS * batch / (time.perf_counter() - start)


def stage_loop(trainer: Trainer, split: PreparedSplit, batch: int) -> float:
    subset = PreparedSplit("bench", split.images[: STEPS * batch], split.labels[: STEPS * batch])
    schedule = Schedule("cosine", 10_000, 10)
    _, seconds, seen = trainer._train_epoch(subset, 0, schedule)
    return seen / seconds


def run(params: config.Params, workdir: Path) -> dict[str, Any]:
    torch.set_num_threads(params.train.threads)
    prepared = params.paths.prepared
    if not (prepared / "manifest.json").is_file():
        write_multilabel(workdir / "raw", DemoSpec())
        prepared = workdir / "prepared"
        prepare_dataset(params.data, workdir / "raw", prepared, params.seed)
    data = PreparedDataset.open(prepared)
    split = data.split("train")
    batch = params.train.batch_size
    normalizer = Normalizer(params.model.input_mean, params.model.input_std)
    family, size = params.model.family, params.model.size

    def fresh_model() -> torch.nn.Module:
        torch.manual_seed(0)
        return create_model(family, size, data.labels, data.letterbox.size, data.task).to(
            memory_format=torch.channels_last)

    loss = classification_loss("bce")
    off = replace(params.train.augment, hflip=0.0, rotate_deg=0.0, scale=0.0, color_jitter=0.0, noise=0.0,
                  cutout=0.0)

    def stage(augment) -> float:
        trainer = Trainer(fresh_model(), family, FitSettings.from_train(params.train, 0, head_epochs=0),
                          lambda m, x, y: loss(logits_of(m, x), y), task_scorer(get_task("classification"), loss, data),
                          normalizer, Augmenter(augment, data.letterbox.pad_value))
        return stage_loop(trainer, split, batch)

    runs: dict[str, list[float]] = {"bare": [], "stage": [], "stage_no_augment": []}
    for _ in range(REPEATS + 1):  # the first round is a warm-up; the three loops alternate
        runs["bare"].append(bare_loop(fresh_model(), split, normalizer, batch, params.train.precision))
        runs["stage"].append(stage(params.train.augment))
        runs["stage_no_augment"].append(stage(off))
    median = {name: statistics.median(values[1:]) for name, values in runs.items()}
    return {
        "model": f"{family}/{size}", "batch": batch, "threads": params.train.threads, "steps": STEPS,
        "precision": params.train.precision,
        "bare_images_per_second": round(median["bare"], 1),
        "stage_images_per_second": round(median["stage"], 1),
        "stage_vs_bare_ratio": round(median["stage"] / median["bare"], 3),
        "stage_no_augment_vs_bare_ratio": round(median["stage_no_augment"] / median["bare"], 3),
        "all": {name: [round(v, 1) for v in values[1:]] for name, values in runs.items()},
    }


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return run(config.load(), Path(tmp))
