"""Losses: classification (single/multi-label) and knowledge distillation."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from distillery.config import TrainConfig
from distillery.errors import ConfigError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def resolve_loss_name(requested: str, task: str) -> str:
    if requested == "auto":
        return "cross_entropy" if task == "single_label" else "bce"
    if requested in ("l1", "charbonnier"):
        raise ConfigError(f"train.loss: {requested} is a restoration loss; classification takes auto, "
                          "cross_entropy, bce or focal")
    if requested == "cross_entropy" and task == "multi_label":
        raise ConfigError("train.loss: cross_entropy needs a single-label task; use bce or focal")
    if requested in ("bce", "focal") and task == "single_label":
        raise ConfigError(f"train.loss: {requested} is for multi-label tasks; use cross_entropy")
    return requested


def task_loss(cfg: TrainConfig, task: str) -> LossFn:
    """The classification loss ``train.*`` asks for on ``task`` (teacher and student alike)."""
    return classification_loss(resolve_loss_name(cfg.loss, task), cfg.label_smoothing, cfg.focal_gamma)


def classification_loss(name: str, label_smoothing: float = 0.0, focal_gamma: float = 2.0) -> LossFn:
    """``loss(logits, targets)`` with targets as the (N, C) 0/1 label matrix."""
    if name == "cross_entropy":
        return lambda logits, targets: F.cross_entropy(logits, targets.argmax(1), label_smoothing=label_smoothing)
    if name == "bce":
        return lambda logits, targets: F.binary_cross_entropy_with_logits(logits, targets.float())
    if name == "focal":
        def focal(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            targets = targets.float()
            bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
            p_true = torch.exp(-bce)
            return ((1 - p_true) ** focal_gamma * bce).mean()
        return focal
    raise ValueError(f"unknown loss {name!r}")


def soft_target_loss(student: torch.Tensor, teacher: torch.Tensor, task: str, temperature: float) -> torch.Tensor:
    """KL between temperature-softened teacher and student (softmax, or per-class sigmoid)."""
    t = temperature
    if task == "single_label":
        return F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), log_target=True,
                        reduction="batchmean")
    p_teacher = torch.sigmoid(teacher / t)
    log_s, log_1ms = F.logsigmoid(student / t), F.logsigmoid(-student / t)
    log_t, log_1mt = F.logsigmoid(teacher / t), F.logsigmoid(-teacher / t)
    kl = p_teacher * (log_t - log_s) + (1 - p_teacher) * (log_1mt - log_1ms)
    return kl.sum(1).mean() / student.shape[1]


def distillation_loss(hard: LossFn, task: str, alpha: float, temperature: float):
    """``alpha * hard + (1 - alpha) * T^2 * soft`` (Hinton et al.; seed 002: alpha 0.7, T 2)."""
    def loss(student: torch.Tensor, targets: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        soft = soft_target_loss(student, teacher, task, temperature)
        return alpha * hard(student, targets) + (1 - alpha) * temperature**2 * soft
    return loss
