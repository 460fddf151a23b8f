"""Image restoration (denoising, deblurring, JPEG artefacts): the ``restoration`` task.

Pairs of degraded and clean images, or clean images with a degradation declared in params.yaml;
families are ``nafnet`` and ``convnext_unet`` (image in, image out, any size); the objective is L1
or Charbonnier on random crops, with the teacher's restored image as the distillation target; the
score is PSNR (and SSIM) on whole images, restored through the overlapping tiles the exported
models take. There is no decision rule to tune. The methods delegate to the parts, which a stage
loads only when it declares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from distillery.config import DistillConfig, Params, RestorationConfig, ThresholdsConfig, TrainConfig
from distillery.errors import ConfigError
from distillery.models.registry import FAMILIES, create_model
from distillery.tasks import register_task
from distillery.tasks.base import Augment, BundleSpec, DataSurvey, Evaluation, KDLossFn, LossFn, PrepareResult, Task
from distillery.tasks.restoration.dataset import RestorationDataset

TINY = {"task": "restoration", "model.family": "nafnet", "model.size": "w8", "model.pretrained": False,
        "model.input_mean": [0.0, 0.0, 0.0], "model.input_std": [255.0, 255.0, 255.0],
        "train.epochs": 2, "train.head_epochs": 0, "train.batch_size": 8, "train.lr": 0.002,
        "train.warmup_epochs": 0.0, "train.patience": 5, "distill.student.family": "nafnet",
        "distill.student.size": "w8", "distill.student.pretrained": False, "distill.epochs": 1,
        "distill.batch_size": 8, "distill.lr": 0.002, "quantize.calibration_size": 8, "quantize.max_drop": 3.0,
        "quantize.latency_runs": 3, "restoration.data.crop_size": 24, "restoration.data.val_fraction": 0.2,
        "restoration.data.test_fraction": 0.2, "restoration.tiles.size": 32, "restoration.tiles.overlap": 8}
UNIT_STD = (255.0, 255.0, 255.0)
PLOTS = (
    {"teacher loss (L1 on train crops; val: tiled, full resolution)":
        {"x": "epoch", "y": {"train.csv": ["train_loss", "val_loss"]}, "x_label": "epoch", "y_label": "loss"}},
    {"student loss": {"x": "epoch", "y": {"distill.csv": ["train_loss", "val_loss"]}, "x_label": "epoch",
                      "y_label": "loss"}},
    {"val PSNR, teacher and student": {"x": "epoch", "y": {"train.csv": "val_metric", "distill.csv": "val_metric"},
                                       "x_label": "epoch", "y_label": "val PSNR (dB)"}},
    {"test PSNR per image: int8 models, classical denoisers, degraded input":
        {"template": "bar_horizontal", "x": "psnr", "y": {"evaluate/per_image_psnr.csv": "label"},
         "x_label": "PSNR (dB)", "y_label": "image / method"}},
    "evaluate/sample_degraded_restored_clean.png",
)
MODEL_FILES = {"tflite": "model_int8.tflite", "onnx": "model_int8.onnx", "onnx_fp32": "model_fp32.onnx"}


class Restoration(Task):
    name = "restoration"
    description = "image restoration: degraded image in, clean image out (denoising, deblurring, JPEG)"
    primary_metric = "psnr"
    points_per_unit = 1.0  # PSNR drops and gains in dB
    drop_unit = "dB"
    output_name = "restored"
    package = __name__
    data_section = "restoration"
    tiny_params = TINY
    tiny_images = (24, 6, 6)  # BM3D takes ~1 s per small test image
    bundle_models = MODEL_FILES
    dvc_plots = PLOTS
    scores_fp32_on_test = True

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(name for name, spec in FAMILIES.items() if spec.task == self.name)

    def check_params(self, params: Params) -> None:
        """The networks add their input to what they predict, so they must see pixels in [0, 1]."""
        if tuple(params.model.input_mean) != (0.0, 0.0, 0.0) or tuple(params.model.input_std) != UNIT_STD:
            raise ConfigError("model.input_mean / model.input_std: restoration models see pixels in [0, 1] "
                              "(they predict a correction added to their input): set input_mean: [0.0, 0.0, 0.0] "
                              "and input_std: [255.0, 255.0, 255.0]")
        super().check_params(params)

    def prepare(self, cfg: RestorationConfig, raw: Path, out: Path, seed: int) -> PrepareResult:
        return self.part("preparation").prepare(cfg, raw, out, seed)

    def survey(self, cfg: RestorationConfig, raw: Path) -> DataSurvey:
        return self.part("readiness").survey(cfg, raw)

    def write_example_data(self, raw: Path, images: tuple[int, int, int], seed: int) -> None:
        self.part("examples").write_example_data(raw, images, seed)

    def open_data(self, prepared: Path) -> RestorationDataset:
        return RestorationDataset.open(prepared)

    def create_model(self, family_name: str, size: str, data: RestorationDataset) -> nn.Module:
        return create_model(family_name, size, [], data.letterbox.size)

    def forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model(pixel_values=x)

    def augmenter(self, cfg: TrainConfig, data: RestorationDataset) -> Augment:
        return self.part("training").augmenter(cfg, data)

    def loss(self, cfg: TrainConfig, data: RestorationDataset) -> LossFn:
        return self.part("training").loss(cfg, data)

    def distillation_loss(self, hard: LossFn, cfg: DistillConfig, data: RestorationDataset) -> KDLossFn:
        return self.part("training").distillation_loss(hard, cfg, data)

    def score(self, outputs: np.ndarray, targets: np.ndarray, data: RestorationDataset, split: str) -> dict[str, Any]:
        return self.part("scoring").score(outputs, data, split)

    def decide(self, outputs: np.ndarray, data: RestorationDataset, split: str,
               rule: dict[str, Any] | None = None) -> np.ndarray:
        return self.part("scoring").decide(outputs, data, split)

    def agreement(self, decisions: np.ndarray, reference: np.ndarray) -> dict[str, float]:
        return self.part("scoring").agreement(decisions, reference)

    def evaluate(self, val: tuple[np.ndarray, np.ndarray], test: dict[str, np.ndarray], test_targets: np.ndarray,
                 cfg: ThresholdsConfig, data: RestorationDataset, plots: Path) -> Evaluation:
        return self.part("evaluation").evaluate(val, test, data, plots)

    def bundle_metrics(self, evaluation: dict[str, Any]) -> dict[str, Any]:
        return self.part("export").bundle_metrics(evaluation)

    def bundle(self, rule: dict[str, Any], data: RestorationDataset, quantized: Path, export_name: str,
               max_pixels: int) -> BundleSpec:
        return self.part("export").bundle_spec(data, quantized, export_name, max_pixels)

    def parity(self, bundle_dir: Path, backend: str, data: RestorationDataset) -> np.ndarray:
        return self.part("export").bundle_decisions(bundle_dir, backend, data)

    def validation_images(self, outputs: np.ndarray, data: RestorationDataset) -> dict[str, np.ndarray]:
        return self.part("scoring").validation_images(outputs, data)

    def parity_gap(self, decisions: np.ndarray, reference: np.ndarray, data: RestorationDataset) -> dict[str, float]:
        return self.part("export").psnr_gap(decisions, reference, data)

    def test_items(self, data: RestorationDataset) -> int:
        return len(data.tiled("test").images)

    def model_card(self, config: dict[str, Any], test: dict[str, Any], lineage: dict[str, Any],
                   parity: dict[str, Any], sizes: dict[str, int]) -> str:
        return self.part("export").model_card(config, test, lineage, parity, sizes)

    def summary_lines(self, records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
        return self.part("summary").summary_lines(records, names, export_dir)


register_task(Restoration())
