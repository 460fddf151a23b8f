"""The mask loss: binary cross-entropy plus soft Dice on the mask logits, per instance then averaged.

BCE alone lets a small object's few pixels drown in its background; Dice scores the overlap whatever
the object's size. Both are computed where the target is defined (``valid``: the image, not SAM's
padding), so padded pixels never count as background.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_dice_loss(logits: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor | None = None,
                  dice_weight: float = 1.0, smooth: float = 1.0) -> torch.Tensor:
    """``logits``, ``targets`` (0/1) and ``valid`` (0/1) of shape (N, H, W): mean over instances of
    BCE + ``dice_weight`` x (1 - soft Dice)."""
    valid = torch.ones_like(targets) if valid is None else valid.to(targets.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    bce = (bce * valid).flatten(1).sum(1) / valid.flatten(1).sum(1).clamp_min(1.0)
    probabilities = torch.sigmoid(logits) * valid
    overlap = (probabilities * targets).flatten(1).sum(1)
    total = probabilities.flatten(1).sum(1) + (targets * valid).flatten(1).sum(1)
    soft_dice = (2 * overlap + smooth) / (total + smooth)
    return (bce + dice_weight * (1 - soft_dice)).mean()
