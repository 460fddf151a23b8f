"""Quantization-aware fine-tuning (PT2E QAT) for when post-training quantization loses too much.

A few epochs at a low learning rate on the train split with fake-quantized weights and activations,
seeded per epoch like the training loop, then converted exactly like the PTQ path.

Batch norms are folded into their convolutions first (the inference graph has them folded too):
litert-torch 0.10's QAT conv+BN annotation calls a torchao 0.18 helper with a function where a
module is now required, and fails; with nothing to fold that path is never taken.
"""

from __future__ import annotations

import copy
import logging

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from tqdm import tqdm

from distillery.data.batches import Normalizer
from distillery.data.prepared import PreparedSplit
from distillery.quantize.tflite import exported, nhwc, quantizer
from distillery.tasks.classification.losses import LossFn

log = logging.getLogger(__name__)


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with each BatchNorm2d that directly follows a Conv2d folded into it."""
    model = copy.deepcopy(model).eval()
    for parent in model.modules():
        children = list(parent.named_children())
        for (conv_name, conv), (bn_name, bn) in zip(children, children[1:], strict=False):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(parent, bn_name, nn.Identity())
    return model


def qat_int8(
    model: nn.Module, train: PreparedSplit, normalizer: Normalizer, loss: LossFn, epochs: int, lr: float,
    seed: int, batch_size: int,
) -> torch.fx.GraphModule:
    from torchao.quantization.pt2e import move_exported_model_to_eval, move_exported_model_to_train
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_qat_pt2e

    example = nhwc(normalizer.images(train.images[:2]))
    graph = exported(fold_batch_norms(model), example, dynamic_batch=True)
    prepared = prepare_qat_pt2e(graph, quantizer(qat=True))
    optimizer = torch.optim.AdamW(prepared.parameters(), lr=lr, weight_decay=0.0)
    for epoch in range(epochs):
        move_exported_model_to_train(prepared)
        batches = train.batches(batch_size, shuffle=True, seed=seed + epoch)
        total, steps = 0.0, 0
        for _, images, labels in tqdm(batches, total=-(-len(train) // batch_size), unit="batch",
                                      desc=f"QAT epoch {epoch + 1}/{epochs}", leave=False):
            optimizer.zero_grad(set_to_none=True)
            value = loss(prepared(nhwc(normalizer.images(images))), torch.from_numpy(labels))
            value.backward()
            optimizer.step()
            total, steps = total + float(value), steps + 1
        log.info("QAT epoch %d/%d: train loss %.4f", epoch + 1, epochs, total / max(steps, 1))
    move_exported_model_to_eval(prepared)
    return convert_pt2e(prepared, fold_quantize=False)
