"""Restoration's ``training`` part: the objective on random crops and the output distillation loss.

The crops arrive already flipped and turned (``store.CropSplit``: the same transform for the
degraded input and its clean target), so the input augmentation is the identity. Targets are the
clean crops as uint8 N x H x W x 3; the model's output is N x 3 x H x W in [0, 1].
"""

from __future__ import annotations

import torch

from distillery.config import DistillConfig, TrainConfig
from distillery.errors import ConfigError
from distillery.tasks.base import Augment, KDLossFn, LossFn
from distillery.tasks.restoration.dataset import RestorationDataset

CHARBONNIER_EPS = 1e-3  # on the [0, 1] scale, as in the restoration literature


def augmenter(cfg: TrainConfig, data: RestorationDataset) -> Augment:
    return lambda x, generator: x


def as_image(targets: torch.Tensor) -> torch.Tensor:
    """uint8 N x H x W x 3 -> float N x 3 x H x W in [0, 1]."""
    return targets.permute(0, 3, 1, 2).float().div(255.0)


def pixel_loss(name: str):
    if name == "charbonnier":
        return lambda a, b: torch.sqrt((a - b).pow(2) + CHARBONNIER_EPS**2).mean()
    return lambda a, b: (a - b).abs().mean()


def loss(cfg: TrainConfig, data: RestorationDataset) -> LossFn:
    if cfg.loss not in ("auto", "l1", "charbonnier"):
        raise ConfigError(f"train.loss: {cfg.loss} is a classification loss; restoration takes auto (l1), l1 or "
                          "charbonnier")
    distance = pixel_loss(cfg.loss)
    return lambda outputs, targets: distance(outputs.float(), as_image(targets))


def distillation_loss(hard: LossFn, cfg: DistillConfig, data: RestorationDataset) -> KDLossFn:
    """alpha * (loss to the clean image) + (1 - alpha) * (L1 to the teacher's restored image)."""
    def kd(student: torch.Tensor, targets: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        return cfg.alpha * hard(student, targets) + (1.0 - cfg.alpha) * (student.float() - teacher.float()).abs().mean()

    return kd
