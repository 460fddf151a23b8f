"""The distill stage: a small student learns from the labels and from the teacher's soft outputs.

loss = alpha * hard + (1 - alpha) * T^2 * soft. The teacher scores exactly the augmented batch the
student sees (consistent teaching), on the fly, in eval mode without gradients. With
``distill.compare_without_kd`` the same student is also trained on the labels alone with the same
budget, so the value of distillation is measured, not assumed.
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
from distillery.data.prepared import PreparedDataset
from distillery.errors import WeightsError
from distillery.evaluate.metrics import classification_metrics, probabilities
from distillery.models.checkpoint import ModelMeta, load_model_dir, save_model_dir
from distillery.models.inference import logits_of, predict_logits
from distillery.models.registry import check_known, create_model
from distillery.models.transfer import TransferReport, provenance, transfer_from_folder
from distillery.tracking import Tracker
from distillery.train.augment import Augmenter
from distillery.train.loop import FitResult, FitSettings, Trainer
from distillery.train.losses import LossFn, distillation_loss, task_loss
from distillery.train.teacher import configure_torch, model_meta, run_key

log = logging.getLogger(__name__)


@dataclass
class DistillResult:
    student: FitResult
    without_kd: FitResult | None
    teacher_val: dict[str, Any]
    teacher_parameters: int
    meta: ModelMeta


def kd_objective(teacher: nn.Module, hard: LossFn, task: str, alpha: float, temperature: float):
    kd = distillation_loss(hard, task, alpha, temperature)

    def objective(student: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            soft_targets = logits_of(teacher, x)
        return kd(logits_of(student, x), y, soft_targets)

    return objective


def distill_student(params: Params, tracker: Tracker, threads: int) -> DistillResult:
    cfg, paths = params.distill, params.paths
    configure_torch(threads, params.seed)
    check_known(cfg.student.family, cfg.student.size, key="distill.student")
    data = PreparedDataset.open(paths.prepared)
    teacher, teacher_meta = load_model_dir(paths.teacher)
    if teacher_meta.labels != data.labels:
        raise WeightsError(f"{paths.teacher}: teacher labels {teacher_meta.labels} differ from the prepared "
                           f"data's {data.labels}; rerun `dvc repro train`")
    teacher.to(memory_format=torch.channels_last)
    normalizer = Normalizer(params.model.input_mean, params.model.input_std)
    val = data.split("val")
    teacher_val = classification_metrics(probabilities(predict_logits(teacher, val, normalizer), data.task),
                                         np.asarray(val.labels), data.task)
    hard = task_loss(params.train, data.task)
    settings = FitSettings.from_train(params.train, params.seed, epochs=cfg.epochs, lr=cfg.lr, head_epochs=0,
                                    batch_size=cfg.batch_size,
                                    backbone_lr_factor=cfg.backbone_lr_factor)
    student_source = provenance(paths.pretrained_student) if cfg.student.pretrained else "scratch"
    key = run_key(asdict(cfg), asdict(params.train), params.seed, data.manifest["fingerprint"], teacher_meta.lineage,
                  student_source)

    def fit(objective, name: str) -> tuple[nn.Module, FitResult, TransferReport | None]:
        torch.manual_seed(params.seed)
        student = create_model(cfg.student.family, cfg.student.size, data.labels, data.letterbox.size, data.task)
        transfer = None
        if cfg.student.pretrained:
            transfer, _ = transfer_from_folder(student, paths.pretrained_student, cfg.student.family,
                                               params.train.min_transfer_fraction, key="distill.student")
        trainer = Trainer(
            student, cfg.student.family, data.task, settings, objective=objective, val_loss=hard,
            normalizer=normalizer, augmenter=Augmenter(params.train.augment, data.letterbox.pad_value),
            checkpoint=paths.checkpoints / f"{name}.pt", run_key=f"{name}-{key}",
            on_epoch=lambda record: tracker.metrics({name: asdict(record)}, step=record.epoch),
        )
        log.info("training the %s student %s/%s for %d epochs", name, cfg.student.family, cfg.student.size,
                 cfg.epochs)
        return student, trainer.fit(data.split("train"), val), transfer

    student, result, transfer = fit(kd_objective(teacher, hard, data.task, cfg.alpha, cfg.temperature), "distill")
    without_kd = None
    if cfg.compare_without_kd:
        _, without_kd, _ = fit(lambda m, x, y: hard(logits_of(m, x), y), "no_kd")
    lineage = {"teacher": {"family": teacher_meta.family, "size": teacher_meta.size,
                           "val_macro_f1": teacher_val["macro_f1"]},
               "pretrained": transfer.summary() if transfer else None,
               "distillation": {"alpha": cfg.alpha, "temperature": cfg.temperature, "epochs": cfg.epochs}}
    meta = model_meta(params, data, cfg.student.family, cfg.student.size, lineage)
    save_model_dir(student, meta, paths.student)
    return DistillResult(result, without_kd, teacher_val, sum(p.numel() for p in teacher.parameters()), meta)
