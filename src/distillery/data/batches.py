"""uint8 NHWC batches from the prepared arrays -> normalised float NCHW tensors for a model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


class Normalizer:
    """``(x - mean) / std`` per channel, as one fused multiply-add on a float tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.scale = (1.0 / torch.tensor(std, dtype=torch.float32)).view(1, 3, 1, 1)
        self.shift = (-torch.tensor(mean, dtype=torch.float32)).view(1, 3, 1, 1) * self.scale

    def __call__(self, images: np.ndarray) -> torch.Tensor:
        nchw = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        return torch.addcmul(self.shift, nchw.float(), self.scale).contiguous()
