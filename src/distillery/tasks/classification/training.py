"""Classification's ``training`` part: augmentation, the objective and the distillation loss."""

from __future__ import annotations

from distillery.config import DistillConfig, TrainConfig
from distillery.data.prepared import PreparedDataset
from distillery.tasks.base import Augment, KDLossFn, LossFn
from distillery.tasks.classification import losses
from distillery.tasks.classification.augment import Augmenter


def augmenter(cfg: TrainConfig, data: PreparedDataset) -> Augment:
    return Augmenter(cfg.augment, data.letterbox.pad_value)


def loss(cfg: TrainConfig, data: PreparedDataset) -> LossFn:
    return losses.task_loss(cfg, data.task)


def distillation_loss(hard: LossFn, cfg: DistillConfig, data: PreparedDataset) -> KDLossFn:
    return losses.distillation_loss(hard, data.task, cfg.alpha, cfg.temperature)
