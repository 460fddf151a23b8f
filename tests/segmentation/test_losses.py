"""BCE + Dice: near zero for a confident right mask, padding ignored, a small object not drowned."""

from __future__ import annotations

import torch

from distillery.tasks.segmentation.losses import bce_dice_loss


def square(size: int, side: int) -> torch.Tensor:
    mask = torch.zeros(size, size)
    mask[:side, :side] = 1
    return mask


def test_a_confident_right_mask_costs_almost_nothing_and_a_wrong_one_a_lot() -> None:
    target = square(16, 6)[None]
    assert bce_dice_loss(20 * (2 * target - 1), target) < 0.01
    assert bce_dice_loss(-20 * (2 * target - 1), target) > 10


def test_padding_outside_valid_never_counts() -> None:
    target, valid = square(16, 6)[None], square(16, 10)[None]
    logits = 20 * (2 * target - 1)
    logits[0, 12:, 12:] = 30.0  # "foreground" in the padding
    assert bce_dice_loss(logits, target, valid) < 0.01 < bce_dice_loss(logits, target)


def test_dice_keeps_a_missed_small_object_from_drowning_in_its_background() -> None:
    small, large = square(32, 3)[None], square(32, 20)[None]
    miss = torch.full((1, 32, 32), -2.0)

    def small_over_large(dice_weight: float) -> float:
        return float(bce_dice_loss(miss, small, dice_weight=dice_weight) /
                     bce_dice_loss(miss, large, dice_weight=dice_weight))

    assert small_over_large(0.0) < 0.2 < 0.5 < small_over_large(1.0)  # measured: 0.16 alone, 0.65 with Dice
