"""The one training loop: teacher fine-tuning, student distillation and demo pretraining share it.

AdamW with two parameter groups (head at ``lr``, backbone at ``lr * backbone_lr_factor``);
phase A trains the head with the backbone frozen, phase B unfreezes all of it, its top
fraction, or only the LoRA adapters; warm-up then cosine (per step) or reduce-on-plateau (per
epoch); early stopping on the validation metric; the best weights are kept.

Reproducible and resumable: every epoch's shuffle, augmentation and dropout are seeded from
(seed, epoch), and after each epoch the whole state (model, optimizer, schedule, best weights,
history, RNG) is saved atomically outside DVC's outputs. A killed run restarts the interrupted
epoch and ends bit-identical to an uninterrupted one. Data parallel across processes started by
``torchrun`` (gloo on CPU): each rank takes its share of every global batch and PyTorch's
``DistributedDataParallel`` averages the gradients (in buckets, overlapped with the backward pass),
so the global batch and the result match one process.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from distillery import atomic
from distillery.config import TrainConfig
from distillery.data.batches import Normalizer, to_tensor
from distillery.data.prepared import PreparedSplit
from distillery.errors import Interrupted
from distillery.models.inference import Forward, predict_outputs
from distillery.models.registry import is_head
from distillery.models.transfer import normalise_name

log = logging.getLogger(__name__)

Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Scorer:
    """How validation scores a model: the task's forward, loss and metrics, and the metric that decides."""

    forward: Forward
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    metrics: Callable[[np.ndarray, np.ndarray], dict[str, Any]]
    primary: str


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    head_epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    schedule: str
    warmup_epochs: float
    unfreeze: str
    unfreeze_fraction: float
    backbone_lr_factor: float
    patience: int
    precision: str
    seed: int

    @classmethod
    def from_train(cls, cfg: TrainConfig, seed: int, **overrides: Any) -> FitSettings:
        names = {f for f in cls.__dataclass_fields__ if f != "seed"}
        return replace(cls(seed=seed, **{n: getattr(cfg, n) for n in names}), **overrides)


@dataclass
class EpochLog:
    epoch: int
    phase: str
    train_loss: float
    val_loss: float
    val_metric: float
    lr: float
    seconds: float
    images_per_second: float


# after each epoch's validation: its record, every val metric, and the model's val outputs
EpochCallback = Callable[[EpochLog, dict[str, Any], np.ndarray], None]

TIMINGS = ("seconds", "images_per_second")  # per-epoch values a rerun does not reproduce


def history_rows(history: list[EpochLog]) -> list[dict[str, Any]]:
    """Per-epoch rows for the git-tracked DVC plots CSV: what a rerun reproduces, no timings."""
    return [{k: v for k, v in asdict(h).items() if k not in TIMINGS} for h in history]


def epoch_timings(history: list[EpochLog]) -> list[dict[str, Any]]:
    """Per-epoch seconds and images/s, for the stage's record."""
    return [{"epoch": h.epoch, **{k: getattr(h, k) for k in TIMINGS}} for h in history]


@dataclass
class FitResult:
    history: list[EpochLog]
    best_epoch: int
    best_metric: float
    val_metrics: dict[str, Any]
    seconds: float
    images_per_second: float
    resumed_from_epoch: int = 0
    trainable_parameters: int = 0
    total_parameters: int = 0


@dataclass
class _State:
    epoch: int = 0
    best_metric: float = -1.0
    best_epoch: int = -1
    bad_epochs: int = 0
    history: list[dict] = field(default_factory=list)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA always; on CPU only for ``precision: bf16``, else exactly float32.

    Validation passes ``fp32``: on CPU the scores that pick the best epoch are the float32 model's,
    the ones the later stages measure.
    """
    if device.type == "cuda" or precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX); elsewhere oneDNN emulates it."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Schedule:
    """Per-step learning-rate factor: linear warm-up, then cosine decay or plateau halving."""

    def __init__(self, kind: str, total_steps: int, warmup_steps: int) -> None:
        self.kind, self.total, self.warmup = kind, max(total_steps, 1), warmup_steps
        self.step_num, self.plateau_scale, self.plateau_best, self.plateau_bad = 0, 1.0, -math.inf, 0

    def factor(self) -> float:
        warm = min(1.0, (self.step_num + 1) / self.warmup) if self.warmup else 1.0
        if self.kind == "plateau":
            return warm * self.plateau_scale
        progress = min(1.0, max(0.0, (self.step_num - self.warmup) / max(self.total - self.warmup, 1)))
        return warm * 0.5 * (1.0 + math.cos(math.pi * progress))

    def apply(self, optimizer: torch.optim.Optimizer) -> None:
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] * self.factor()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        self.step_num += 1
        self.apply(optimizer)

    def end_epoch(self, metric: float) -> None:
        if self.kind != "plateau":
            return
        if metric > self.plateau_best + 1e-4:
            self.plateau_best, self.plateau_bad = metric, 0
        else:
            self.plateau_bad += 1
            if self.plateau_bad >= 1:
                self.plateau_scale, self.plateau_bad = self.plateau_scale * 0.5, 0

    def state_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        vars(self).update(state)


NamedParameters = list[tuple[str, nn.Parameter]]


def split_parameters(model: nn.Module, family_name: str) -> tuple[NamedParameters, NamedParameters]:
    head, backbone = [], []
    for name, param in model.named_parameters():
        (head if is_head(normalise_name(name), family_name) else backbone).append((name, param))
    return head, backbone


def phase_b_backbone(backbone: NamedParameters, settings: FitSettings, lora: bool) -> set[str]:
    """Names of backbone parameters that train in phase B."""
    if lora:
        return {name for name, _ in backbone if "lora_" in name}
    if settings.unfreeze == "all":
        return {name for name, _ in backbone}
    budget = settings.unfreeze_fraction * sum(p.numel() for _, p in backbone)
    chosen, total = set(), 0
    for name, param in reversed(backbone):
        if total >= budget:
            break
        chosen.add(name)
        total += param.numel()
    return chosen


class Trainer:
    def __init__(
        self, model: nn.Module, family_name: str, settings: FitSettings, objective: Objective, scorer: Scorer,
        normalizer: Normalizer, augmenter: Augment, checkpoint: Path | None = None, run_key: str = "",
        lora: bool = False, on_epoch: EpochCallback | None = None,
    ) -> None:
        self.model, self.family, self.settings = model, family_name, settings
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model.to(self.device, memory_format=torch.channels_last)
        self.objective, self.scorer, self.normalizer, self.augmenter = objective, scorer, normalizer, augmenter
        self.checkpoint, self.run_key, self.on_epoch = checkpoint, run_key, on_epoch
        self.rank, self.world = world()
        if settings.precision == "bf16" and self.device.type == "cpu" and not native_bf16():
            log.warning("train.precision: bf16 on a CPU without AVX512-BF16 or AMX is emulated, slower than fp32: "
                        "set train.precision: fp32 on this machine")
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}  # peft freezes its base
        head, backbone = split_parameters(model, family_name)
        self.head_names = {n for n, _ in head} & trainable
        self.phase_b_names = (self.head_names | phase_b_backbone(backbone, settings, lora)) & trainable
        base = [p for n, p in backbone if n in self.phase_b_names]
        self.optimizer = torch.optim.AdamW(
            [{"params": [p for n, p in head if n in self.head_names], "lr": settings.lr},
             {"params": base, "lr": settings.lr * settings.backbone_lr_factor}],
            lr=settings.lr, weight_decay=settings.weight_decay,
        )
        for group in self.optimizer.param_groups:
            group["initial_lr"] = group["lr"]
        self.best_state: dict[str, torch.Tensor] | None = None
        self.parallel_model: DistributedDataParallel | None = None  # averages gradients over the ranks
        self.parallel_phase = ""

    def _set_phase(self, epoch: int) -> str:
        phase = "head" if epoch < self.settings.head_epochs else "full"
        allowed = self.head_names if phase == "head" else self.phase_b_names
        for name, param in self.model.named_parameters():
            param.requires_grad_(name in allowed)
        if self.world > 1 and phase != self.parallel_phase:
            self.parallel_model = None  # DDP hooks the parameters that require grad when it is built
            gc.collect()
            self.parallel_model = DistributedDataParallel(self.model, find_unused_parameters=True)
            self.parallel_phase = phase
        return phase

    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _save(self, state: _State, schedule: Schedule) -> None:
        if self.checkpoint is None or self.rank != 0:
            return
        payload = {
            "run_key": self.run_key, "state": asdict(state), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "schedule": schedule.state_dict(), "best": self.best_state,
            "rng": torch.get_rng_state(),
        }
        with atomic.atomic_path(self.checkpoint) as tmp:
            torch.save(payload, tmp)

    def _resume(self, schedule: Schedule) -> _State:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return _State()
        payload = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        if payload.get("run_key") != self.run_key:
            log.info("ignoring checkpoint %s: it belongs to another configuration", self.checkpoint)
            return _State()
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        schedule.load_state_dict(payload["schedule"])
        self.best_state = payload["best"]
        torch.set_rng_state(payload["rng"])
        state = _State(**payload["state"])
        log.info("resuming from %s after epoch %d", self.checkpoint, state.epoch)
        return state

    def _local_share(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """This rank's part of a global batch (all of it in a single process)."""
        if self.world == 1:
            return images, labels
        return images[self.rank :: self.world], labels[self.rank :: self.world]

    def _train_epoch(self, split: PreparedSplit, epoch: int, schedule: Schedule) -> tuple[float, float, int]:
        s = self.settings
        torch.manual_seed(s.seed * 1000 + epoch)
        gen = torch.Generator().manual_seed(s.seed * 7919 + epoch)
        self.model.train()
        total_loss, seen, started = 0.0, 0, time.perf_counter()
        batches = split.batches(s.batch_size, shuffle=True, seed=s.seed * 1000 + epoch)
        n_batches = math.ceil(len(split) / s.batch_size)
        for idx, images, labels in tqdm(batches, total=n_batches, desc=f"epoch {epoch + 1}/{s.epochs}",
                                        unit="batch", mininterval=2.0, leave=False, disable=self.rank != 0):
            if len(idx) < self.world:
                continue
            images, labels = self._local_share(images, labels)
            x = self.normalizer(self.augmenter(to_tensor(images), gen)).to(self.device)
            y = torch.from_numpy(np.asarray(labels)).to(self.device)
            with autocast(self.device, s.precision):
                loss = self.objective(self.parallel_model or self.model, x, y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            schedule.step(self.optimizer)
            total_loss += float(loss.detach()) * len(images)
            seen += len(images)
        seconds = time.perf_counter() - started
        return total_loss / max(seen, 1), seconds, seen * self.world

    def _validate(self, split: PreparedSplit) -> tuple[float, float, dict[str, Any], np.ndarray]:
        with autocast(self.device, "fp32"):
            outputs = predict_outputs(self.model, split, self.normalizer, self.scorer.forward)
        loss = float(self.scorer.loss(torch.from_numpy(outputs), torch.from_numpy(np.asarray(split.labels))))
        metrics = self.scorer.metrics(outputs, np.asarray(split.labels))
        return loss, metrics[self.scorer.primary], metrics, outputs

    def fit(self, train: PreparedSplit, val: PreparedSplit) -> FitResult:
        s = self.settings
        steps_per_epoch = math.ceil(len(train) / s.batch_size)
        schedule = Schedule(s.schedule, s.epochs * steps_per_epoch, round(s.warmup_epochs * steps_per_epoch))
        schedule.apply(self.optimizer)
        state = self._resume(schedule)
        resumed_from, started = state.epoch, time.perf_counter()
        try:
            self._run_epochs(train, val, state, schedule)
        except KeyboardInterrupt:
            kept = (f"finished epochs are saved in {self.checkpoint}: the next `dvc repro` resumes after the last "
                    "of them") if self.checkpoint is not None and state.epoch else "no epoch had finished"
            raise Interrupted(f"stopped in epoch {state.epoch + 1} of {s.epochs}; {kept}") from None
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        if self.checkpoint is not None and self.rank == 0:
            self.checkpoint.unlink(missing_ok=True)
        for name, param in self.model.named_parameters():
            param.requires_grad_(name in self.phase_b_names)
        val_metrics = self._validate(val)[2] if self.rank == 0 else {}
        history = [EpochLog(**h) for h in state.history]
        speeds = [h.images_per_second for h in history[resumed_from:]] or [h.images_per_second for h in history]
        return FitResult(
            history=history, best_epoch=state.best_epoch, best_metric=state.best_metric, val_metrics=val_metrics,
            seconds=round(time.perf_counter() - started, 2),
            images_per_second=float(np.median(speeds)) if speeds else 0.0,
            resumed_from_epoch=resumed_from,
            trainable_parameters=sum(p.numel() for n, p in self.model.named_parameters() if n in self.phase_b_names),
            total_parameters=sum(p.numel() for p in self.model.parameters()),
        )

    def _run_epochs(self, train: PreparedSplit, val: PreparedSplit, state: _State, schedule: Schedule) -> None:
        """Train from ``state.epoch`` on: validate, keep the best, stop early, checkpoint after each epoch."""
        s = self.settings
        while state.epoch < s.epochs:
            epoch = state.epoch
            phase = self._set_phase(epoch)
            lr = self.optimizer.param_groups[0]["lr"]
            train_loss, seconds, seen = self._train_epoch(train, epoch, schedule)
            stop = False
            if self.rank == 0:
                val_loss, metric, val_metrics, val_outputs = self._validate(val)
                record = EpochLog(epoch + 1, phase, round(train_loss, 6), round(val_loss, 6), round(metric, 6),
                                  lr, round(seconds, 2), round(seen / seconds, 1))
                state.history.append(asdict(record))
                log.info("epoch %d/%d (%s): train loss %.4f, val loss %.4f, val %s %.4f, %.0f img/s",
                         epoch + 1, s.epochs, phase, train_loss, val_loss, self.scorer.primary, metric,
                         record.images_per_second)
                if metric > state.best_metric:
                    state.best_metric, state.best_epoch, state.bad_epochs = metric, epoch + 1, 0
                    self.best_state = self._snapshot()
                else:
                    state.bad_epochs += 1
                schedule.end_epoch(metric)
                stop = state.bad_epochs >= s.patience and phase == "full"
                if self.on_epoch:
                    self.on_epoch(record, val_metrics, val_outputs)
            state.epoch += 1
            if stop:
                log.info("early stopping: no improvement for %d epoch(s)", s.patience)
                state.epoch = s.epochs
            self._save(state, schedule)
            if self.world > 1:  # rank 0 alone validated: it decides early stopping and the plateau schedule
                decided = [state.epoch, schedule.state_dict()]
                dist.broadcast_object_list(decided, src=0)
                state.epoch = decided[0]
                schedule.load_state_dict(decided[1])
