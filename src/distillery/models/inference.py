"""Running a PyTorch model over a prepared split, with the task's forward."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from distillery.data.batches import Normalizer, to_tensor
from distillery.data.prepared import PreparedSplit

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]


@torch.no_grad()
def predict_outputs(model: nn.Module, split: PreparedSplit, normalizer: Normalizer, forward: Forward,
                    batch_size: int = 256) -> np.ndarray:
    """``forward(model, x)`` over every batch of ``split`` in order, as one float32 array (eval mode)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [forward(model, normalizer(to_tensor(images)).to(device)).float().cpu().numpy()
           for _, images, _ in split.batches(batch_size)]
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, split.labels.shape[1]), dtype=np.float32)
