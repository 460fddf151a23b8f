"""Batched augmentation on float tensors in 0-255 (before normalisation), driven by a seeded generator.

Flips, small rotations and scale (one affine warp per image), brightness/contrast jitter,
Gaussian noise and cutout, as the seed projects used; areas exposed by the warp and cutout are
filled with the letterbox padding value, so augmented images look like prepared ones.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from distillery.config import AugmentConfig


class Augmenter:
    def __init__(self, cfg: AugmentConfig, pad_value: int) -> None:
        self.cfg = cfg
        self.pad = float(pad_value)

    def _uniform(self, n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        cfg = self.cfg
        if cfg.hflip > 0:
            flip = torch.rand(n, generator=gen) < cfg.hflip
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if cfg.rotate_deg > 0 or cfg.scale > 0:
            angle = self._uniform(n, -cfg.rotate_deg, cfg.rotate_deg, gen) * (math.pi / 180)
            scale = self._uniform(n, 1 - cfg.scale, 1 + cfg.scale, gen)
            cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
            theta = torch.stack([torch.stack([cos, -sin, torch.zeros(n)], 1),
                                 torch.stack([sin, cos, torch.zeros(n)], 1)], 1)
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x - self.pad, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + self.pad
        if cfg.color_jitter > 0:
            brightness = self._uniform(n, 1 - cfg.color_jitter, 1 + cfg.color_jitter, gen)[:, None, None, None]
            contrast = self._uniform(n, 1 - cfg.color_jitter, 1 + cfg.color_jitter, gen)[:, None, None, None]
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * contrast + mean * brightness
        if cfg.noise > 0:
            x = x + torch.randn(x.shape, generator=gen) * (cfg.noise * 255.0)
        if cfg.cutout > 0:
            x = self._cutout(x, gen)
        return x.clamp_(0.0, 255.0)

    def _cutout(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        side = max(1, h // 4)
        apply = torch.rand(n, generator=gen) < self.cfg.cutout
        top = torch.randint(0, h - side + 1, (n,), generator=gen)
        left = torch.randint(0, w - side + 1, (n,), generator=gen)
        rows = torch.arange(h)[None, :, None]
        cols = torch.arange(w)[None, None, :]
        box = ((rows >= top[:, None, None]) & (rows < (top + side)[:, None, None])
               & (cols >= left[:, None, None]) & (cols < (left + side)[:, None, None]) & apply[:, None, None])
        return torch.where(box[:, None], torch.full_like(x, self.pad), x)
