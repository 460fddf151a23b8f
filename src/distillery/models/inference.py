"""Running a PyTorch classifier over a prepared split."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from distillery.data.batches import Normalizer, to_tensor
from distillery.data.prepared import PreparedSplit


def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits of a transformers classifier (plain or wrapped by peft)."""
    return model(pixel_values=x).logits


class LogitsModel(nn.Module):
    """``x -> logits`` as a plain module: what export, PT2E and ONNX need."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return logits_of(self.model, x)


@torch.no_grad()
def predict_logits(model: nn.Module, split: PreparedSplit, normalizer: Normalizer, batch_size: int = 256) -> np.ndarray:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [logits_of(model, normalizer(to_tensor(images)).to(device)).float().cpu().numpy()
           for _, images, _ in split.batches(batch_size)]
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, split.labels.shape[1]), dtype=np.float32)
