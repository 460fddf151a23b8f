"""The distill stage: a small student learns from the targets and from the teacher's outputs.

The plumbing is shared by every task: the teacher scores exactly the augmented batch the student
sees (consistent teaching), on the fly, in eval mode without gradients; the task turns (student
output, targets, teacher output) into a loss (classification: alpha * hard + (1 - alpha) * T^2 *
soft). With ``distill.compare_without_kd`` the same student is also trained on the targets alone
with the same budget, so the value of distillation is measured, not assumed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from distillery.config import Params
from distillery.data.batches import Normalizer
from distillery.errors import WeightsError
from distillery.models.checkpoint import ModelMeta, load_model_dir, save_model_dir
from distillery.models.inference import predict_outputs
from distillery.models.transfer import TransferReport, provenance, transfer_from_folder
from distillery.runtime import configure_torch
from distillery.tasks.base import KDLossFn, Task
from distillery.tracking import Tracker
from distillery.train.loop import FitResult, FitSettings, Trainer
from distillery.train.teacher import epoch_logger, model_meta, run_key, task_scorer

log = logging.getLogger(__name__)


@dataclass
class DistillResult:
    student: FitResult
    without_kd: FitResult | None
    teacher_val: dict[str, Any]
    teacher_parameters: int
    meta: ModelMeta


def kd_objective(task: Task, teacher: nn.Module, kd: KDLossFn):
    """The student's objective: the task's KD loss against the teacher's output on the same batch."""
    def objective(student: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            teacher_outputs = task.forward(teacher, x)
        return kd(task.forward(student, x), y, teacher_outputs)

    return objective


def distill_student(task: Task, params: Params, tracker: Tracker, threads: int) -> DistillResult:
    cfg, paths = params.distill, params.paths
    configure_torch(threads, params.seed)
    task.check_family(cfg.student.family, cfg.student.size, key="distill.student")
    data = task.open_data(paths.prepared)
    teacher, teacher_meta = load_model_dir(paths.teacher)
    if teacher_meta.labels != data.labels:
        raise WeightsError(f"{paths.teacher}: teacher labels {teacher_meta.labels} differ from the prepared "
                           f"data's {data.labels}; rerun `dvc repro train`")
    teacher.to(memory_format=torch.channels_last)
    normalizer = Normalizer(teacher_meta.input_mean, teacher_meta.input_std)  # the student sees what the teacher saw
    val = data.split("val")
    teacher_val = task.score(predict_outputs(teacher, val, normalizer, task.forward), np.asarray(val.labels), data,
                             "val")
    hard = task.loss(params.train, data)
    settings = FitSettings.from_train(params.train, params.seed, epochs=cfg.epochs, lr=cfg.lr, head_epochs=0,
                                    batch_size=cfg.batch_size,
                                    backbone_lr_factor=cfg.backbone_lr_factor)
    student_source = provenance(paths.pretrained_student) if cfg.student.pretrained else "scratch"
    key = run_key(asdict(cfg), asdict(params.train), params.seed, data.manifest["fingerprint"], teacher_meta.lineage,
                  student_source)

    def fit(objective, name: str) -> tuple[nn.Module, FitResult, TransferReport | None]:
        torch.manual_seed(params.seed)
        student = task.create_model(cfg.student.family, cfg.student.size, data)
        transfer = None
        if cfg.student.pretrained:
            transfer, _ = transfer_from_folder(student, paths.pretrained_student, cfg.student.family,
                                               params.train.min_transfer_fraction, key="distill.student")
        trainer = Trainer(
            student, cfg.student.family, settings, objective=objective, scorer=task_scorer(task, hard, data),
            normalizer=normalizer, augmenter=task.augmenter(params.train, data),
            checkpoint=paths.checkpoints / f"{name}.pt", run_key=f"{name}-{key}",
            # the student's curves carry the teacher's names (train_loss, val_metric, ...), so MLflow overlays
            # the train and distill runs; the no-KD comparison in the same run gets a prefix
            on_epoch=epoch_logger(task, data, tracker, "" if name == "distill" else name),
        )
        log.info("training the %s student %s/%s for %d epochs", name, cfg.student.family, cfg.student.size,
                 cfg.epochs)
        return student, trainer.fit(data.split("train"), val), transfer

    def labels_only(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return hard(task.forward(m, x), y)

    # alpha 1: the targets alone, so the teacher's forward (a third of a step's time) is skipped
    kd = kd_objective(task, teacher, task.distillation_loss(hard, cfg, data)) if cfg.alpha < 1.0 else labels_only
    student, result, transfer = fit(kd, "distill")
    without_kd = None
    if cfg.compare_without_kd:
        _, without_kd, _ = fit(labels_only, "no_kd")
    lineage = {"teacher": {"family": teacher_meta.family, "size": teacher_meta.size,
                           f"val_{task.primary_metric}": teacher_val[task.primary_metric]},
               "pretrained": transfer.summary() if transfer else None,
               "distillation": {"alpha": cfg.alpha, "temperature": cfg.temperature, "epochs": cfg.epochs}}
    meta = model_meta((teacher_meta.input_mean, teacher_meta.input_std), data, cfg.student.family, cfg.student.size,
                      lineage)
    save_model_dir(student, meta, paths.student)
    return DistillResult(result, without_kd, teacher_val, sum(p.numel() for p in teacher.parameters()), meta)
