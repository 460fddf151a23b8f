"""Self-describing model folders: a Hugging Face directory whose config.json also carries ours.

``config.json`` (the family's transformers config, with labels) gains a ``distillery`` entry:
family, size, task, labels, input size, normalisation, the letterbox spec and lineage. Any
later stage (or an app) rebuilds the exact model from the folder alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillery import atomic
from distillery.errors import WeightsError
from distillery.models.registry import family, instantiate

if TYPE_CHECKING:
    from transformers import PreTrainedModel

META_KEY = "distillery"


@dataclass(frozen=True)
class ModelMeta:
    family: str
    size: str
    task: str
    labels: list[str]
    image_size: int
    input_mean: list[float]
    input_std: list[float]
    letterbox: dict[str, Any]
    lineage: dict[str, Any] = field(default_factory=dict)


def save_model_dir(model: PreTrainedModel, meta: ModelMeta, out: Path) -> None:
    """Write ``model`` + ``meta`` to ``out`` atomically (safetensors weights)."""
    setattr(model.config, META_KEY, asdict(meta))
    with atomic.atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)


def read_meta(path: Path) -> ModelMeta:
    config_file = Path(path) / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        return ModelMeta(**config[META_KEY])
    except FileNotFoundError:
        raise WeightsError(f"{config_file}: not found; is {path} a model folder written by this pipeline?") from None
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise WeightsError(
            f"{config_file}: no valid '{META_KEY}' entry ({exc}); not written by this pipeline"
        ) from None


def load_model_dir(path: str | Path) -> tuple[PreTrainedModel, ModelMeta]:
    """Rebuild the model a folder describes and load its weights; eval mode."""
    path = Path(path)
    meta = read_meta(path)
    spec = family(meta.family)
    config_class = spec.model_class.config_class
    try:
        config = config_class.from_pretrained(path)
        model = spec.model_class.from_pretrained(path, config=config)
    except (OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: cannot load the model ({exc})") from None
    if spec.after_build:
        spec.after_build(model)
    return model.eval(), meta


def clone_architecture(model: PreTrainedModel, family_name: str) -> PreTrainedModel:
    """A fresh model with the same config (for a no-KD baseline of the same architecture)."""
    return instantiate(family_name, model.config.__class__.from_dict(model.config.to_dict()))
