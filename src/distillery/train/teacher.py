"""The train stage: build the task's teacher, transfer pretrained weights, fine-tune, save it self-described."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from distillery.config import Params
from distillery.data.batches import Normalizer
from distillery.models.checkpoint import ModelMeta, save_model_dir
from distillery.models.lora import apply_lora, merge_lora
from distillery.models.registry import family
from distillery.models.transfer import TransferReport, transfer_from_folder
from distillery.runtime import configure_torch
from distillery.tasks.base import LossFn, Task, TaskData
from distillery.tracking import Tracker
from distillery.train.loop import EpochCallback, EpochLog, FitResult, FitSettings, Scorer, Trainer

log = logging.getLogger(__name__)


@dataclass
class TeacherResult:
    fit: FitResult
    transfer: TransferReport | None
    meta: ModelMeta


def run_key(*parts: Any) -> str:
    """Identity of a training run: a checkpoint resumes only a run with the same key."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def model_meta(normalization: tuple[Sequence[float], Sequence[float]], data: TaskData, family: str, size: str,
               lineage: dict) -> ModelMeta:
    """What the model folder says about itself; ``normalization`` is (mean, std) per RGB channel."""
    mean, std = normalization
    return ModelMeta(
        family=family, size=size, task=data.task, labels=data.labels, image_size=data.letterbox.size,
        input_mean=list(mean), input_std=list(std),
        letterbox=data.manifest["letterbox"], lineage={"data_fingerprint": data.manifest["fingerprint"], **lineage},
    )


def task_scorer(task: Task, loss: LossFn, data: TaskData) -> Scorer:
    """Validation as the task scores it: its forward, its loss, its metrics on val, its primary metric."""
    return Scorer(task.forward, loss, lambda outputs, targets: task.score(outputs, targets, data, "val"),
                  task.primary_metric)


IMAGES_EVERY = 2  # epochs between the task's validation images in MLflow (and after the first)


def epoch_logger(task: Task, data: TaskData, tracker: Tracker, prefix: str = "") -> EpochCallback:
    """MLflow after each epoch: the epoch's record (losses, the primary metric, lr), every val metric
    (``val_<name>``: PSNR and SSIM, F1s), and after the first and every ``IMAGES_EVERY`` epochs the task's
    validation images (restoration: degraded / restored / clean side by side). ``prefix`` nests them
    (the no-KD comparison inside the distill run)."""
    def log_epoch(record: EpochLog, metrics: dict[str, Any], outputs: np.ndarray) -> None:
        values = {**asdict(record), **{f"val_{name}": value for name, value in metrics.items()}}
        tracker.metrics({prefix: values} if prefix else values, step=record.epoch)
        if record.epoch == 1 or record.epoch % IMAGES_EVERY == 0:
            for name, image in task.validation_images(outputs, data).items():
                tracker.image(image, f"{prefix}/val_images/epoch_{record.epoch:03d}_{name}.png".lstrip("/"))

    return log_epoch


def train_teacher(task: Task, params: Params, tracker: Tracker, threads: int) -> TeacherResult:
    cfg, model_cfg, paths = params.train, params.model, params.paths
    configure_torch(threads, params.seed)
    task.check_family(model_cfg.family, model_cfg.size)
    data = task.open_data(paths.prepared)
    model = task.create_model(model_cfg.family, model_cfg.size, data)
    transfer, source_key = None, "scratch"
    settings = FitSettings.from_train(cfg, params.seed)
    if model_cfg.pretrained:
        transfer, source_key = transfer_from_folder(model, paths.pretrained_teacher, model_cfg.family,
                                                    cfg.min_transfer_fraction, key="model")
        tracker.artifact_dict(transfer.details(), "transfer_report.json")
    else:
        settings = replace(settings, head_epochs=0)
        log.info("training from scratch (model.pretrained: false): no frozen head-only phase")
    if family(model_cfg.family).head is None and settings.head_epochs:
        settings = replace(settings, head_epochs=0)
        log.info("%s has no task head to train first: no head-only phase", model_cfg.family)
    if cfg.lora.enabled:
        model = apply_lora(model, model_cfg.family, cfg.lora)
    loss = task.loss(cfg, data)
    trainer = Trainer(
        model, model_cfg.family, settings,
        objective=lambda m, x, y: loss(task.forward(m, x), y), scorer=task_scorer(task, loss, data),
        normalizer=Normalizer(model_cfg.input_mean, model_cfg.input_std),
        augmenter=task.augmenter(cfg, data),
        checkpoint=paths.checkpoints / "train.pt",
        run_key=run_key(asdict(model_cfg), asdict(cfg), params.seed, data.manifest["fingerprint"], source_key),
        lora=cfg.lora.enabled,
        on_epoch=epoch_logger(task, data, tracker),
    )
    result = trainer.fit(data.split("train"), data.split("val"))
    if cfg.lora.enabled:
        model = merge_lora(model)
    lineage = {"pretrained": transfer.summary() if transfer else None,
               "lora": asdict(cfg.lora) if cfg.lora.enabled else None}
    meta = model_meta((model_cfg.input_mean, model_cfg.input_std), data, model_cfg.family, model_cfg.size, lineage)
    save_model_dir(model, meta, paths.teacher)
    return TeacherResult(result, transfer, meta)

