"""Running a PyTorch model over a prepared split, with the task's forward; the classifiers' ``.logits``.

``LogitsModel`` lives here, beside the transformers families it unwraps, rather than in the
classification task: torch.export records the wrapper's qualified name in the TFLite graph, so
moving it would change the exported bytes (and the size metrics) of every model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from distillery.data.batches import Normalizer
from distillery.data.prepared import PreparedSplit

Forward = Callable[[nn.Module, torch.Tensor], torch.Tensor]


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
def predict_outputs(model: nn.Module, split: PreparedSplit, normalizer: Normalizer, forward: Forward,
                    batch_size: int = 256) -> np.ndarray:
    """``forward(model, x)`` over every batch of ``split`` in order, as one float32 array (eval mode)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [forward(model, normalizer.images(images).to(device)).float().cpu().numpy()
           for _, images, _ in split.batches(batch_size)]
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, split.labels.shape[1]), dtype=np.float32)
