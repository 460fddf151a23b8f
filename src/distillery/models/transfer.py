"""Loading pretrained weights and transferring every tensor that fits (seed 000's layer mapping).

A checkpoint may come from a model of another family, size or label set. Names are normalised
(known wrapper prefixes stripped), then every tensor whose name and shape match is copied.
The classification head is always re-initialised for the new labels. The report says what
transferred and why the rest did not; too little transfer is an error, so a wrong checkpoint
is never silently trained from scratch.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from distillery.errors import WeightsError
from distillery.models.registry import is_head

log = logging.getLogger(__name__)

KNOWN_PREFIXES = ("module.", "_orig_mod.", "base_model.model.", "model.")
WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
WRAPPER_KEYS = ("params", "params_ema", "state_dict")


def find_weights_file(source: Path) -> Path:
    """The weights file in a pulled folder (or ``source`` itself when it is a file)."""
    if source.is_file():
        return source
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (source / name).is_file():
            return source / name
    candidates = sorted(p for p in source.glob("*") if p.suffix in WEIGHT_SUFFIXES)
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise WeightsError(f"{source}: expected one weights file (.safetensors/.pth), found: {found}")
    return candidates[0]


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors or PyTorch file; never unpickles arbitrary objects."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"{path}: refused: the file holds pickled objects beyond tensors (possibly code) "
            f"and is loaded with weights_only=True ({str(exc).splitlines()[0]}); re-save it as safetensors"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a corrupt or truncated file
        raise WeightsError(f"{path}: not a readable weights file (truncated or corrupt?): {exc}") from None
    state = _unwrap(state)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors")
    return dict(state)


def _unwrap(state: Any) -> Any:
    """The state dict inside a training checkpoint: BasicSR's (the official NAFNet release) keeps it under
    ``params`` (or ``params_ema``), Lightning's and many others' under ``state_dict``."""
    if isinstance(state, Mapping):
        for key in WRAPPER_KEYS:
            if isinstance(state.get(key), Mapping):
                return state[key]
    return state


def normalise_name(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in KNOWN_PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix) :], True
    return name


@dataclass
class TransferReport:
    source: str
    tensors_transferred: int = 0
    tensors_total: int = 0
    parameters_transferred: int = 0
    parameters_total: int = 0
    backbone_parameters_total: int = 0
    head_reinitialised: list[str] = field(default_factory=list)
    shape_mismatch: dict[str, str] = field(default_factory=dict)
    missing_in_checkpoint: list[str] = field(default_factory=list)
    unused_in_checkpoint: int = 0

    @property
    def backbone_fraction(self) -> float:
        return self.parameters_transferred / max(self.backbone_parameters_total, 1)

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "tensors_transferred": self.tensors_transferred,
            "tensors_total": self.tensors_total,
            "parameters_transferred": self.parameters_transferred,
            "parameters_total": self.parameters_total,
            "backbone_fraction": round(self.backbone_fraction, 4),
            "head_reinitialised": self.head_reinitialised,
            "skipped_shape_mismatch": len(self.shape_mismatch),
            "skipped_missing": len(self.missing_in_checkpoint),
            "unused_in_checkpoint": self.unused_in_checkpoint,
        }

    def details(self) -> dict[str, Any]:
        return {**self.summary(), "shape_mismatch": self.shape_mismatch,
                "missing_in_checkpoint": self.missing_in_checkpoint}


def transfer_weights(
    model: nn.Module, state: Mapping[str, torch.Tensor], family_name: str, source: str, min_fraction: float,
    key: str = "model",
) -> TransferReport:
    """Copy matching tensors of ``state`` into ``model`` in place; refuse under ``min_fraction``."""
    incoming = {normalise_name(k): v for k, v in state.items()}
    target = model.state_dict()
    report = TransferReport(source)
    updates = {}
    for name, tensor in target.items():
        report.tensors_total += 1
        count = tensor.numel() if tensor.is_floating_point() else 0
        report.parameters_total += count
        if is_head(name, family_name):
            report.head_reinitialised.append(name)
            continue
        report.backbone_parameters_total += count
        found = incoming.get(name)
        if found is None:
            report.missing_in_checkpoint.append(name)
        elif found.shape != tensor.shape:
            report.shape_mismatch[name] = f"checkpoint {tuple(found.shape)} vs model {tuple(tensor.shape)}"
        else:
            updates[name] = found.to(tensor.dtype)
            report.tensors_transferred += 1
            report.parameters_transferred += count
    report.unused_in_checkpoint = len(set(incoming) - set(updates))
    if report.backbone_fraction < min_fraction:
        example = next(iter(report.shape_mismatch.items()), None) or (report.missing_in_checkpoint[:1] or ["-"])
        raise WeightsError(
            f"{source}: only {report.backbone_fraction:.1%} of the backbone's parameters transferred "
            f"({report.tensors_transferred}/{report.tensors_total} tensors; e.g. {example}), below "
            f"train.min_transfer_fraction={min_fraction}; wrong architecture or size? Check {key}.family/{key}.size, "
            f"or set {key}.pretrained: false to train from scratch on purpose"
        )
    model.load_state_dict(updates, strict=False)
    return report


def transfer_from_folder(
    model: nn.Module, folder: Path, family_name: str, min_fraction: float, key: str
) -> tuple[TransferReport, str]:
    """Transfer the weights pulled into ``folder``; also returns their provenance (for resume keys)."""
    weights = find_weights_file(folder)
    report = transfer_weights(model, load_state_dict(weights), family_name, str(weights), min_fraction, key)
    log.info("transferred %d/%d tensors (%.1f%% of backbone parameters) from %s",
             report.tensors_transferred, report.tensors_total, 100 * report.backbone_fraction, weights)
    return report, provenance(folder)


def provenance(folder: Path) -> str:
    """What identifies pulled weights: pull's ``source.json`` (bucket, objects, sha256), else the path."""
    source = folder / "source.json"
    return source.read_text() if source.is_file() else str(find_weights_file(folder))
