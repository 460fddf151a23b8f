"""Image classification, single- and multi-label: the ``classification`` task.

Labels per image (one-hot or multi-hot rows); families are ``transformers`` image classifiers whose
output is ``.logits``; the objective is cross-entropy, BCE or focal loss, with Hinton's soft-target
distillation; the score is macro-F1; the rule tuned on val is per-class thresholds (multi-label) or
a reject threshold (single-label); the bundle ships labels, thresholds and predict.py. The methods
delegate to the parts (``preparation.py``, ``training.py``, ``scoring.py``, ``evaluation.py``,
``export.py``, ``examples.py``, ``summary.py``), which a stage loads only when it declares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from distillery.config import DataConfig, DistillConfig, ThresholdsConfig, TrainConfig
from distillery.data.prepared import PreparedDataset
from distillery.models.inference import LogitsModel, logits_of
from distillery.models.registry import FAMILIES, create_model
from distillery.tasks import register_task
from distillery.tasks.base import Augment, BundleSpec, DataSurvey, Evaluation, KDLossFn, LossFn, PrepareResult, Task

TINY = {"data.image_size": 32, "model.family": "resnet", "model.size": "tiny", "model.pretrained": False,
        "train.epochs": 3, "train.head_epochs": 1, "train.batch_size": 32, "train.lr": 0.01,
        "train.warmup_epochs": 0.2, "train.patience": 5, "distill.student.size": "tiny",
        "distill.student.pretrained": False, "distill.epochs": 2}
DEMO_DEFAULTS = {
    "data.image_size": (64, "sized for the demo's 64 px digit renders; photos usually need 128-224 px "
                            "(more compute per image)"),
    "train.augment.hflip": (0.0, "off because digits are not mirror-symmetric; most photos are: 0.5"),
    "train.augment.rotate_deg": (10.0, "small rotations suit scans; upright photos: 0-10"),
    "train.epochs": (5, "enough for the demo; on other data raise it and let train.patience stop early"),
    "distill.epochs": (8, "as train.epochs, for the student"),
    "export.name": ("digits-demo", "the bundle's name: name it after your model"),
}
MODEL_FILES = {"tflite": "model_int8.tflite", "onnx": "model_int8.onnx", "onnx_fp32": "model_fp32.onnx"}


class Classification(Task):
    name = "classification"
    description = "image classification, single- or multi-label (labels per image)"
    primary_metric = "macro_f1"
    output_name = "logits"
    package = __name__
    tiny_params = TINY
    demo_defaults = DEMO_DEFAULTS
    bundle_models = MODEL_FILES

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(name for name, spec in FAMILIES.items() if spec.task == self.name)

    def prepare(self, cfg: DataConfig, raw: Path, out: Path, seed: int) -> PrepareResult:
        return self.part("preparation").prepare_dataset(cfg, raw, out, seed)

    def survey(self, cfg: DataConfig, raw: Path) -> DataSurvey:
        return self.part("readiness").survey(cfg, raw)

    def write_example_data(self, raw: Path, images: tuple[int, int, int], seed: int) -> None:
        self.part("examples").write_example_data(raw, images, seed)

    def open_data(self, prepared: Path) -> PreparedDataset:
        return PreparedDataset.open(prepared)

    def create_model(self, family_name: str, size: str, data: PreparedDataset) -> nn.Module:
        return create_model(family_name, size, data.labels, data.letterbox.size, data.task)

    def forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return logits_of(model, x)

    def export_module(self, model: nn.Module) -> nn.Module:
        return LogitsModel(model)

    def augmenter(self, cfg: TrainConfig, data: PreparedDataset) -> Augment:
        return self.part("training").augmenter(cfg, data)

    def loss(self, cfg: TrainConfig, data: PreparedDataset) -> LossFn:
        return self.part("training").loss(cfg, data)

    def distillation_loss(self, hard: LossFn, cfg: DistillConfig, data: PreparedDataset) -> KDLossFn:
        return self.part("training").distillation_loss(hard, cfg, data)

    def score(self, outputs: np.ndarray, targets: np.ndarray, data: PreparedDataset, split: str) -> dict[str, Any]:
        return self.part("scoring").score(outputs, targets, data)

    def decide(self, outputs: np.ndarray, data: PreparedDataset, split: str,
               rule: dict[str, Any] | None = None) -> np.ndarray:
        return self.part("scoring").decide(outputs, data, rule)

    def agreement(self, decisions: np.ndarray, reference: np.ndarray) -> dict[str, float]:
        return self.part("scoring").agreement(decisions, reference)

    def evaluate(self, val: tuple[np.ndarray, np.ndarray], test: dict[str, np.ndarray], test_targets: np.ndarray,
                 cfg: ThresholdsConfig, data: PreparedDataset, plots: Path) -> Evaluation:
        return self.part("evaluation").evaluate_classification(val, test, test_targets, cfg, data, plots)

    def bundle_metrics(self, evaluation: dict[str, Any]) -> dict[str, Any]:
        return self.part("export").bundle_metrics(evaluation)

    def bundle(self, rule: dict[str, Any], data: PreparedDataset, quantized: Path, export_name: str,
               max_pixels: int) -> BundleSpec:
        return self.part("export").bundle_spec(rule, data, quantized, export_name, max_pixels)

    def parity(self, bundle_dir: Path, backend: str, data: PreparedDataset) -> np.ndarray:
        return self.part("export").bundle_decisions(bundle_dir, backend, data)

    def model_card(self, config: dict[str, Any], test: dict[str, Any], lineage: dict[str, Any],
                   parity: dict[str, Any], sizes: dict[str, int]) -> str:
        return self.part("export").model_card(config, test, lineage, parity, sizes)

    def summary_lines(self, records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
        return self.part("summary").summary_lines(records, names, export_dir)


register_task(Classification())
