"""TFLite export with ``litert-torch``: fp32, and full-int8 through PT2E static quantization.

The exported graph takes NHWC input (what mobile camera pipelines hand over) and returns the task's
output (``Task.export_module``: logits for classification).
int8 flow: torch.export -> prepare_pt2e with the TFLite symmetric per-channel config -> run the
calibration batches -> convert_pt2e -> litert_torch.convert with the same quantizer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from distillery import atomic
from distillery.errors import ExportError

log = logging.getLogger(__name__)


class ChannelsLastInput(nn.Module):
    """NHWC float input -> the NCHW model (a task's export module) -> its output."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.permute(0, 3, 1, 2))


def nhwc(batch: torch.Tensor) -> torch.Tensor:
    return batch.permute(0, 2, 3, 1).contiguous()


def exported(model: nn.Module, example: torch.Tensor, dynamic_batch: bool = False) -> torch.fx.GraphModule:
    """The NHWC-input model as a torch.export graph (what PT2E prepares); batch fixed unless asked."""
    shapes = {"x": {0: torch.export.Dim("batch")}} if dynamic_batch else None
    return torch.export.export(ChannelsLastInput(model).eval(), (example,), dynamic_shapes=shapes).module()


def quantizer(qat: bool):
    """The TFLite int8 quantizer; for QAT without the conv+BN patterns (see ``quantize.qat``)."""
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

    class FoldedBatchNormQuantizer(PT2EQuantizer):
        STATIC_QAT_ONLY_OPS: list[str] = []

    cls = FoldedBatchNormQuantizer if qat else PT2EQuantizer
    return cls().set_global(get_symmetric_quantization_config(is_per_channel=True, is_qat=qat))


def _convert(module: nn.Module, example: torch.Tensor, out: Path, quantizer=None) -> None:
    import litert_torch
    from litert_torch.quantize.quant_config import QuantConfig

    config = QuantConfig(pt2e_quantizer=quantizer) if quantizer is not None else None
    try:
        edge = litert_torch.convert(module, (example,), quant_config=config)
    except Exception as exc:  # the converter raises a zoo of types; name the target and re-raise as ours
        raise ExportError(f"{out.name}: litert-torch could not convert the student: {exc}") from exc
    with atomic.atomic_path(out) as tmp:
        edge.export(str(tmp))


def example_input(calibration: list[torch.Tensor]) -> torch.Tensor:
    """A batch-1 NHWC example: the exported graphs have a fixed batch of one."""
    return nhwc(calibration[0][:1])


def export_fp32(model: nn.Module, calibration: list[torch.Tensor], out: Path) -> None:
    example = example_input(calibration)
    _convert(ChannelsLastInput(model).eval(), example, out)


def calibrated_int8(model: nn.Module, calibration: list[torch.Tensor]) -> torch.fx.GraphModule:
    """The PT2E-converted int8 module after observing the calibration images."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    prepared = prepare_pt2e(exported(model, example_input(calibration)), quantizer(qat=False))
    with torch.no_grad():
        for batch in tqdm(calibration, desc="calibrating (TFLite)", unit="batch", leave=False):
            for image in nhwc(batch):
                prepared(image[None])
    return convert_pt2e(prepared, fold_quantize=False)


def export_int8(module: torch.fx.GraphModule, calibration: list[torch.Tensor], out: Path, qat: bool = False) -> None:
    _convert(module, example_input(calibration), out, quantizer(qat))
