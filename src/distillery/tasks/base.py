"""The task interface: what a task (classification, restoration, segmentation) provides to the shared stages.

The stages, the training loop, distillation, quantization, evaluation and export are shared; a task
supplies what differs, designed against all three:

===================  ======================  ======================  ===========================
                     classification          restoration             segmentation
===================  ======================  ======================  ===========================
prepared store       letterboxed images,     full-resolution pairs   images, COCO masks, prompts
                     label rows
families             resnet, convnext, ...   nafnet, convnext_unet   sam
forward              ``.logits``             restored image          mask logits (box prompt)
objective            CE / BCE / focal        L1 / Charbonnier        BCE + Dice
teacher output (KD)  soft targets (T^2 KL)   L1 to teacher image     embedding MSE (encoder)
score                macro-F1 (higher)       PSNR (higher)           IoU (higher)
rule tuned on val    thresholds              none                    mask threshold
bundle               labels, thresholds,     tiles, value range      encoder + decoder, prompts
                     predict.py              predict.py              predict.py
===================  ======================  ======================  ===========================

Arrows point one way: stages -> shared libraries -> tasks; a task never imports a stage package.
Outputs cross this interface as numpy arrays (``outputs``: what ``forward`` returns, batched) so
that the PyTorch model, the TFLite interpreter and ONNX Runtime are scored by the same code.

**Data.** A task opens its own prepared store (``Task.open_data``); the shared stages see it
through ``TaskData``: splits of fixed-size uint8 inputs and their targets, which every runtime
takes as they are. Classification's are the letterboxed images and label rows; restoration's are
the tiles of whole images (its scoring puts them back together) and, for training, random crops.

**Parts.** A task's code is split into parts, modules of its package imported on first use
(``Task.part``): ``preparation``, ``training``, ``scoring``, ``evaluation``, ``export``, ``examples``,
``summary``, ``readiness`` (the doctor's look at the raw data). A stage declares the parts it uses
(``TASK_PARTS`` in ``stages/<name>.py``), so that its DVC deps are those parts and nothing else
(``python -m distillery.deps`` follows them): a change to the task's export code reruns export, not
training. Using an undeclared part inside a stage fails at once, naming it.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from torch import nn

from distillery.config import DistillConfig, ThresholdsConfig, TrainConfig
from distillery.data.letterbox import Letterbox
from distillery.data.prepared import PreparedSplit
from distillery.errors import ConfigError
from distillery.models.registry import check_known, family

PARTS = ("preparation", "training", "scoring", "evaluation", "export", "examples", "summary", "readiness")
_allowed_parts: contextvars.ContextVar[tuple[str, tuple[str, ...]] | None] = contextvars.ContextVar(
    "allowed_parts", default=None)


@contextlib.contextmanager
def parts_of_stage(stage: str, parts: tuple[str, ...]) -> Iterator[None]:
    """Inside a stage: only the task parts it declares may load (its DVC deps cover only those)."""
    token = _allowed_parts.set((stage, parts))
    try:
        yield
    finally:
        _allowed_parts.reset(token)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (outputs, targets) -> loss
KDLossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (student, targets, teacher)
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]  # a uint8-valued float batch, seeded


class TaskData(Protocol):
    """What the shared stages read of a prepared store (``PreparedDataset`` is the reference)."""

    manifest: dict[str, Any]  # holds the data's ``fingerprint`` and the input geometry under ``letterbox``

    @property
    def task(self) -> str:
        """The problem type the models are configured for (single_label, multi_label, restoration, ...)."""

    @property
    def labels(self) -> list[str]:
        """The class names (none for image-to-image tasks)."""

    @property
    def letterbox(self) -> Letterbox:
        """The fixed input geometry: ``size`` is the side of the square every exported model takes."""

    def split(self, name: str) -> PreparedSplit:
        """``images`` (N, size, size, 3) uint8, ``labels`` (the targets), ``batches()``, ``len()``."""


@dataclass(frozen=True)
class PrepareResult:
    manifest: dict[str, Any]
    metrics: dict[str, Any]


@dataclass(frozen=True)
class DataSurvey:
    """What a quick look at the raw data found, without decoding images (``python -m distillery.doctor``)."""

    summary: str  # one line: layout, how many items, labels
    demo_data: bool  # the project's demo data, for which the shipped defaults were tuned


@dataclass(frozen=True)
class Evaluation:
    """What a task's evaluation of the int8 models returns to the evaluate stage."""

    report: dict[str, Any]  # metrics/evaluate.json (and its record)
    rule: dict[str, Any]  # the rule tuned on val, as JSON (``decide`` and the bundle read it); {} when none
    test_decisions: dict[str, np.ndarray]  # per backend: the reference of export's parity check
    record_only: tuple[str, ...] = ()  # dotted keys of ``report`` that go to the record only
    headline: str = ""  # one line for the stage's log: what the evaluation found


@dataclass(frozen=True)
class BundleSpec:
    """What a task adds to the export bundle: files by name, the inference config, the model card."""

    files: dict[str, bytes]
    inference_config: dict[str, Any]


class Task(ABC):
    """One kind of problem the pipeline solves. Subclass, set the class attributes, register once.

    The methods are the interface; a subclass implements them by delegating to its parts.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    primary_metric: ClassVar[str]  # the metric early stopping, quantization and the summary use
    higher_is_better: ClassVar[bool] = True
    points_per_unit: ClassVar[float] = 100.0  # drops and gains are reported in points: 100 for F1, 1 for dB
    drop_unit: ClassVar[str] = "points"  # what those are called in logs and messages
    output_name: ClassVar[str]  # the exported models' output tensor
    package: ClassVar[str]  # the package holding the task's parts
    data_section: ClassVar[str] = "data"  # the params.yaml section ``prepare`` and ``survey`` take as ``cfg``
    bundle_models: ClassVar[dict[str, str]]  # bundle file name per model: tflite, onnx (int8), onnx_fp32
    tiny_params: ClassVar[dict[str, Any]]  # dotted overrides that run the whole pipeline in seconds (contract test)
    tiny_images: ClassVar[tuple[int, int, int]] = (128, 48, 48)  # example images per split for those runs
    # params.yaml values tuned for the demo data: dotted key -> (shipped value, why to revisit it on other data)
    demo_defaults: ClassVar[dict[str, tuple[Any, str]]] = {}
    # a demo pipeline's DVC plots (``distillery.pipelines``), files relative to ``paths.plots``
    dvc_plots: ClassVar[tuple[Any, ...]] = ()
    # evaluate also hands the fp32 teacher's and student's test outputs (``teacher_fp32``,
    # ``student_fp32`` beside the int8 backends): restoration reports them beside the int8 models
    scores_fp32_on_test: ClassVar[bool] = False

    def part(self, name: str) -> ModuleType:
        """``<package>.<name>``, imported on first use; refused inside a stage that does not declare it."""
        scope = _allowed_parts.get()
        if scope is not None and name not in scope[1]:
            stage, parts = scope
            raise ConfigError(f"stage {stage} uses the {self.name} task's {name!r} part, which its TASK_PARTS "
                              f"({', '.join(parts) or 'none'}) do not declare: add it in stages/{stage}.py, so "
                              "that its DVC deps cover that code")
        return importlib.import_module(f"{self.package}.{name}")

    # --- data -------------------------------------------------------------------------------------
    @abstractmethod
    def prepare(self, cfg: Any, raw: Path, out: Path, seed: int) -> PrepareResult:
        """Validate the user's layout in ``raw`` and write the prepared store to ``out`` atomically."""

    @abstractmethod
    def survey(self, cfg: Any, raw: Path) -> DataSurvey:
        """Check the layout in ``raw`` as prepare will read it, decoding no image; a ``DataError`` names
        what is wrong."""

    @abstractmethod
    def write_example_data(self, raw: Path, images: tuple[int, int, int], seed: int) -> None:
        """A small generated dataset in the task's raw layout (train, val, test counts): tests, demos."""

    @abstractmethod
    def open_data(self, prepared: Path) -> TaskData:
        """The prepared store written by ``prepare``, as the shared stages read it."""

    # --- models -----------------------------------------------------------------------------------
    @property
    @abstractmethod
    def families(self) -> tuple[str, ...]:
        """The model families (``python -m distillery.models list``) this task can train."""

    def check_params(self, params: Any) -> None:
        """Refuse values this task cannot train with, before any stage runs (the check_params stage): by
        default, teacher and student families that are unknown or belong to another task."""
        self.check_family(params.model.family, params.model.size)
        self.check_family(params.distill.student.family, params.distill.student.size, key="distill.student")

    def check_family(self, family_name: str, size: str, key: str = "model") -> None:
        check_known(family_name, size, key)
        if family(family_name).task != self.name:
            raise ConfigError(f"{key}.family: {family_name!r} is a {family(family_name).task} family; the "
                              f"{self.name} task trains {', '.join(self.families)}")

    @abstractmethod
    def create_model(self, family_name: str, size: str, data: TaskData) -> nn.Module:
        """A fresh model of ``family_name``/``size`` shaped for ``data`` (labels, input size)."""

    @abstractmethod
    def forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The raw output every loss, score and exporter sees (e.g. the logits)."""

    def export_module(self, model: nn.Module) -> nn.Module:
        """``x -> forward(model, x)`` as a plain module, for torch.export, PT2E and ONNX."""
        return _Forward(model, self.forward)

    # --- training ---------------------------------------------------------------------------------
    @abstractmethod
    def augmenter(self, cfg: TrainConfig, data: TaskData) -> Augment:
        """The training-time augmentation of an input batch."""

    @abstractmethod
    def loss(self, cfg: TrainConfig, data: TaskData) -> LossFn:
        """The training objective on (outputs, targets): the teacher's, and the student's hard part."""

    @abstractmethod
    def distillation_loss(self, hard: LossFn, cfg: DistillConfig, data: TaskData) -> KDLossFn:
        """The student's objective given the teacher's output on the same batch."""

    # --- scoring ----------------------------------------------------------------------------------
    @abstractmethod
    def score(self, outputs: np.ndarray, targets: np.ndarray, data: TaskData, split: str) -> dict[str, Any]:
        """Metrics of raw outputs on ``split`` of ``data`` against its targets; holds ``primary_metric``."""

    @abstractmethod
    def decide(self, outputs: np.ndarray, data: TaskData, split: str,
               rule: dict[str, Any] | None = None) -> np.ndarray:
        """Decisions from raw outputs on ``split`` at the default rule, or at a tuned one (``Evaluation.rule``)."""

    @abstractmethod
    def agreement(self, decisions: np.ndarray, reference: np.ndarray) -> dict[str, float]:
        """How often two sets of decisions agree: per element (``labels``) and per whole item (``images``)."""

    # --- evaluation and export --------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, val: tuple[np.ndarray, np.ndarray], test: dict[str, np.ndarray], test_targets: np.ndarray,
                 cfg: ThresholdsConfig, data: TaskData, plots: Path) -> Evaluation:
        """Tune the rule on ``val`` (outputs, targets), then score each backend's ``test`` outputs once
        (and the fp32 models', with ``scores_fp32_on_test``)."""

    @abstractmethod
    def bundle_metrics(self, evaluation: dict[str, Any]) -> dict[str, Any]:
        """The bundle's ``metrics.json``, from the evaluate stage's record."""

    @abstractmethod
    def bundle(self, rule: dict[str, Any], data: TaskData, quantized: Path, export_name: str,
               max_pixels: int) -> BundleSpec:
        """The task's files and inference config for the export bundle."""

    @abstractmethod
    def parity(self, bundle: Path, backend: str, data: TaskData) -> np.ndarray:
        """Decisions of the bundle's own predict.py, run from the bundle on every original test file
        (which the prepared store keeps, so that export does not depend on where the raw data lives)."""

    def validation_images(self, outputs: np.ndarray, data: TaskData) -> dict[str, np.ndarray]:
        """Pictures of the model's val outputs that training logs to MLflow every few epochs, by name
        (restoration: degraded / restored / clean side by side); none by default."""
        return {}

    def parity_gap(self, decisions: np.ndarray, reference: np.ndarray, data: TaskData) -> dict[str, float]:
        """Parity figures beyond ``agreement`` (restoration: the test PSNR gap in dB); none by default."""
        return {}

    def test_items(self, data: TaskData) -> int:
        """How many test images the decisions cover (a restoration split holds tiles)."""
        return len(data.split("test"))

    @abstractmethod
    def model_card(self, config: dict[str, Any], test: dict[str, Any], lineage: dict[str, Any],
                   parity: dict[str, Any], sizes: dict[str, int]) -> str:
        """The bundle's README.md."""

    @abstractmethod
    def summary_lines(self, records: dict[str, dict[str, Any]], names: dict[str, str], export_dir: Path) -> list[str]:
        """The lines ``make demo`` ends with, from the stages' records."""


class _Forward(nn.Module):
    def __init__(self, model: nn.Module, forward: Callable[[nn.Module, torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.model, self._forward = model, forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(self.model, x)
