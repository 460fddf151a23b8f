"""params.yaml -> frozen, validated dataclasses.

Every key is required and every unknown key is an error, so a typo (including one passed
with ``dvc exp run -S``, which DVC accepts silently) fails fast with one line that names the
key and says what is allowed. Ranges live beside the fields they constrain; numbers must be
finite. The file is parsed as DVC parses it (ruamel.yaml, YAML 1.2), so the values a stage uses
are the values DVC hashes (PyYAML's YAML 1.1 read ``seed: 010`` as 8 and ``1:30`` as 90), and
anchors and aliases are refused before anything is expanded (an alias bomb).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from distillery.errors import ConfigError

PARAMS_FILE = "params.yaml"
PIPELINE_FILE = "dvc.yaml"
PIPELINE_ENV = "DISTILLERY_PIPELINE"  # a pipeline's folder, set by its stages' commands (demos/<task>/dvc.yaml)
RENAMED = {"data.task": "data.label_mode (auto | single_label | multi_label); `task` now names the kind of problem"}
INFRASTRUCTURE = ("paths", "tracking")  # where files go and where runs are logged: every stage may read them
MAX_SEED = 2**32 - 1  # numpy's and torch's seeds
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules
PREFIX_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def pipeline_dir() -> Path:
    """The folder holding the running pipeline's dvc.yaml and params.yaml: the repository root, or a
    demo pipeline's folder (``demos/<task>``), whose stages run from the root with ``PIPELINE_ENV`` set."""
    return Path(os.environ.get(PIPELINE_ENV) or ".")


def params_file() -> Path:
    return pipeline_dir() / PARAMS_FILE


def pipeline_file() -> Path:
    return pipeline_dir() / PIPELINE_FILE


def machine_cores() -> int:
    """The cores this process may run on (its affinity), which bounds useful thread counts."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

Policy = Literal["error", "drop"]


def _check(predicate: Callable[[Any], bool], expected: str) -> Any:
    return field(metadata={"check": predicate, "expected": expected})


def at_least(lo: float) -> Any:
    return _check(lambda v: v >= lo, f">= {lo}")


def above(lo: float) -> Any:
    return _check(lambda v: v > lo, f"> {lo}")


def between(lo: float, hi: float) -> Any:
    return _check(lambda v: lo <= v <= hi, f"between {lo} and {hi}")


@dataclass(frozen=True)
class Paths:
    """Every file and folder the pipeline reads or writes, declared once (dvc.yaml templates them)."""

    raw: Path
    prepared: Path
    pretrained: Path
    teacher: Path
    student: Path
    quantized: Path
    evaluation: Path
    export: Path
    metrics: Path
    records: Path
    plots: Path
    checkpoints: Path
    cache: Path

    @property
    def pretrained_teacher(self) -> Path:
        return self.pretrained / "teacher"

    @property
    def pretrained_student(self) -> Path:
        return self.pretrained / "student"


@dataclass(frozen=True)
class ProblemPolicy:
    """What prepare does with each kind of bad item: stop (``error``) or drop and list it."""

    unreadable: Policy
    too_small: Policy
    outside_root: Policy
    unknown_label: Policy
    empty_label: Policy
    duplicate: Policy
    cross_split_duplicate: Policy
    rare_class: Policy


@dataclass(frozen=True)
class DataConfig:
    layout: Literal["auto", "folders", "csv", "split_files"]
    manifest: str
    label_mode: Literal["auto", "single_label", "multi_label"]
    labels: tuple[str, ...]
    image_size: int = between(8, 1024)
    pad_value: int = between(0, 255)
    min_side: int = at_least(1)
    max_pixels: int = at_least(1)
    min_images_per_class: int = at_least(1)
    val_fraction: float = between(0.0, 0.5)
    test_fraction: float = between(0.0, 0.5)
    on_problem: ProblemPolicy

    def __post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ConfigError("data.val_fraction + data.test_fraction must be < 1")
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError("data.labels: contains a label twice")


@dataclass(frozen=True)
class ModelConfig:
    family: str
    size: str
    pretrained: bool
    input_mean: tuple[float, ...]
    input_std: tuple[float, ...]

    def __post_init__(self) -> None:
        for key in ("input_mean", "input_std"):
            if len(getattr(self, key)) != 3:
                raise ConfigError(f"model.{key}: expected 3 values (R, G, B)")
        if any(s <= 0 for s in self.input_std):
            raise ConfigError("model.input_std: every value must be > 0")


@dataclass(frozen=True)
class LoraConfig:
    enabled: bool
    rank: int = at_least(1)
    alpha: float = above(0)
    dropout: float = between(0.0, 0.9)


@dataclass(frozen=True)
class AugmentConfig:
    hflip: float = between(0.0, 1.0)
    rotate_deg: float = between(0.0, 180.0)
    scale: float = between(0.0, 0.9)
    color_jitter: float = between(0.0, 1.0)
    noise: float = between(0.0, 1.0)
    cutout: float = between(0.0, 1.0)


@dataclass(frozen=True)
class TrainConfig:
    schedule: Literal["cosine", "plateau"]
    unfreeze: Literal["all", "top"]
    loss: Literal["auto", "cross_entropy", "bce", "focal", "l1", "charbonnier"]
    precision: Literal["fp32", "bf16"]
    epochs: int = at_least(1)
    head_epochs: int = at_least(0)
    batch_size: int = at_least(1)
    lr: float = above(0)
    weight_decay: float = at_least(0)
    warmup_epochs: float = at_least(0)
    unfreeze_fraction: float = between(0.0, 1.0)
    backbone_lr_factor: float = between(0.0, 1.0)
    label_smoothing: float = between(0.0, 0.5)
    focal_gamma: float = at_least(0)
    patience: int = at_least(1)
    min_transfer_fraction: float = between(0.0, 1.0)
    threads: int = at_least(1)
    processes: int = at_least(1)
    lora: LoraConfig
    augment: AugmentConfig

    def __post_init__(self) -> None:
        if self.head_epochs >= self.epochs:
            raise ConfigError(
                f"train.head_epochs ({self.head_epochs}) must be < train.epochs ({self.epochs})"
            )
        if self.threads > machine_cores():
            raise ConfigError(f"train.threads: {self.threads} is more than the {machine_cores()} core(s) this machine "
                              "gives the stage; more threads than cores only slow training down")


@dataclass(frozen=True)
class StudentConfig:
    family: str
    size: str
    pretrained: bool


@dataclass(frozen=True)
class DistillConfig:
    compare_without_kd: bool
    student: StudentConfig
    alpha: float = between(0.0, 1.0)
    temperature: float = above(0)
    epochs: int = at_least(1)
    batch_size: int = at_least(1)
    lr: float = above(0)
    backbone_lr_factor: float = between(0.0, 1.0)


@dataclass(frozen=True)
class QuantizeConfig:
    method: Literal["ptq", "qat"]
    onnx_activation: Literal["auto", "int8", "uint8"]
    onnx_reduce_range: bool
    calibration_size: int = at_least(1)
    max_drop: float = at_least(0)
    qat_epochs: int = at_least(1)
    qat_lr: float = above(0)
    latency_runs: int = at_least(1)


@dataclass(frozen=True)
class ThresholdsConfig:
    objective: Literal["macro_f1", "micro_f1", "fbeta"]
    beta: float = above(0)
    grid_step: float = between(0.001, 0.5)
    smoothing: float = between(0.0, 1.0)
    min_support: int = at_least(0)
    max_no_label_rate: float = between(0.0, 1.0)


@dataclass(frozen=True)
class ExportConfig:
    name: str
    publish: bool
    max_disagreement: float = between(0.0, 1.0)


@dataclass(frozen=True)
class RemoteConfig:
    bucket: str
    prefix: str
    dvc_remote: str
    retries: int = at_least(0)

    def __post_init__(self) -> None:
        if not BUCKET_NAME.fullmatch(self.bucket):
            raise ConfigError(f"remote.bucket: {self.bucket!r} is not an S3 bucket name (3-63 characters: "
                              "lowercase letters, digits, '.' and '-')")
        if not all(PREFIX_PART.fullmatch(part) for part in self.prefix.split("/")):
            raise ConfigError(f"remote.prefix: {self.prefix!r} must be folder names joined by '/' (letters, digits, "
                              "'.', '_', '-'; no leading or trailing '/', no '.' or '..'), e.g. pretrained_models")


@dataclass(frozen=True)
class Degradation:
    """What turns a clean image into the model's input when the data holds clean images only.

    Applied in this order, as a camera pipeline would: Gaussian blur, Gaussian noise, JPEG.
    """

    noise_sigma: float = between(0.0, 255.0)  # on the 0-255 scale (25 = the usual "sigma 25" benchmark)
    blur_sigma: float = between(0.0, 20.0)  # pixels; 0 = no blur
    jpeg_quality: int = between(0, 100)  # 0 = no JPEG round trip


@dataclass(frozen=True)
class RestorationProblemPolicy:
    """What restoration's prepare does with each kind of bad image: stop (``error``) or drop and list it."""

    unreadable: Policy
    too_small: Policy
    size_mismatch: Policy
    missing_partner: Policy
    duplicate: Policy
    cross_split_duplicate: Policy


@dataclass(frozen=True)
class RestorationData:
    layout: Literal["auto", "pairs", "clean"]
    crop_size: int = between(16, 1024)  # training crops; every image must be at least this large
    max_pixels: int = at_least(1)
    val_fraction: float = between(0.0, 0.5)
    test_fraction: float = between(0.0, 0.5)
    degradation: Degradation
    on_problem: RestorationProblemPolicy


@dataclass(frozen=True)
class TilesConfig:
    """The fixed input of the exported models; whole images are restored tile by tile, blended over the overlap."""

    size: int = between(16, 2048)
    overlap: int = at_least(0)

    def __post_init__(self) -> None:
        if self.overlap >= self.size // 2:
            raise ConfigError(f"restoration.tiles.overlap: {self.overlap} must be below half the tile size "
                              f"({self.size // 2})")


@dataclass(frozen=True)
class RestorationConfig:
    """The restoration task's own settings (``task: restoration``); the shared sections hold the rest."""

    data: RestorationData
    tiles: TilesConfig


@dataclass(frozen=True)
class TrackingConfig:
    enabled: bool
    uri: str
    artifact_location: str
    experiment: str


@dataclass(frozen=True)
class Params:
    task: str  # a registered task (distillery.tasks): classification, ...
    seed: int = between(0, MAX_SEED)
    paths: Paths
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    distill: DistillConfig
    quantize: QuantizeConfig
    thresholds: ThresholdsConfig
    export: ExportConfig
    remote: RemoteConfig
    tracking: TrackingConfig
    restoration: RestorationConfig


def load(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Params:
    """Read and validate params.yaml (the running pipeline's by default); ``overrides`` maps dotted keys
    to values, like ``-S``."""
    path = Path(path) if path is not None else params_file()
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"), path)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found; run stages from the repository root") from exc
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value)
    return parse(raw)


def read_yaml(text: str, path: Path) -> Any:
    """Parse as DVC does (ruamel.yaml's safe loader, YAML 1.2), after refusing anchors and aliases."""
    from ruamel.yaml import YAML, YAMLError
    from ruamel.yaml.events import AliasEvent

    try:
        for event in YAML(typ="safe", pure=True).parse(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                raise ConfigError(f"{path}:{event.start_mark.line + 1}: YAML anchors and aliases (&name, *name) are "
                                  "not allowed in params; write the values out")
        return YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def parse(raw: Any) -> Params:
    return _convert(Params, raw, "")


def _convert(tp: Any, value: Any, key: str) -> Any:
    where = key or "params.yaml"
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            raise ConfigError(f"{where}: {value!r} is not allowed; choose one of: {choices}")
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return _convert(inner, value, key)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(get_args(tp)[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    return _scalar(tp, value, where)


def _scalar(tp: type, value: Any, where: str) -> Any:
    if tp is float and isinstance(value, str):
        value = _float_from_yaml11(value, where)
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        return Path(value)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[tp]
    if not ok:
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    if tp is float and not math.isfinite(value):
        raise ConfigError(f"{where}: {value!r} is not a finite number")
    return float(value) if tp is float else value


def _float_from_yaml11(value: str, where: str) -> float:
    """YAML 1.1 reads ``1e-3`` (no dot) as a string; accept it as the number it means."""
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{where}: expected float, got {value!r}") from None


def _build(cls: Any, value: Any, key: str) -> Any:
    where = key or "params.yaml"
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys, got {value!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    prefix = f"{key}." if key else ""
    for name in value:
        if f"{prefix}{name}" in RENAMED:
            raise ConfigError(f"{prefix}{name}: renamed to {RENAMED[f'{prefix}{name}']}; rename the key in "
                              f"{PARAMS_FILE}")
        if name not in fields:
            known = ", ".join(fields)
            raise ConfigError(f"{prefix}{name}: unknown key; known keys here: {known}")
    for name in fields:
        if name not in value:
            raise ConfigError(f"{prefix}{name}: missing key; add it to {PARAMS_FILE}")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, spec in fields.items():
        converted = _convert(hints[name], value[name], f"{prefix}{name}")
        check = spec.metadata.get("check")
        if check is not None and not check(converted):
            raise ConfigError(
                f"{prefix}{name}: {converted!r} is out of range; expected {spec.metadata['expected']}"
            )
        kwargs[name] = converted
    return cls(**kwargs)


def declared_params(stage: str, pipeline: str | Path | None = None) -> frozenset[str]:
    """The dotted params keys ``stage`` lists under ``params:`` in dvc.yaml for the params.yaml beside it:
    bare keys when the stage runs in that folder, else the keys listed under that file (a demo
    pipeline's stages run from the repository root, so they name ``demos/<task>/params.yaml``)."""
    from ruamel.yaml import YAML

    pipeline = Path(pipeline) if pipeline is not None else pipeline_file()
    try:
        stages = YAML(typ="safe").load(Path(pipeline).read_text(encoding="utf-8"))["stages"]
    except FileNotFoundError:
        raise ConfigError(f"{pipeline}: not found; run stages from the repository root") from None
    if stage not in stages:
        raise ConfigError(f"{pipeline}: has no stage {stage!r}")
    wdir = pipeline.parent / stages[stage].get("wdir", ".")
    ours = (pipeline.parent / PARAMS_FILE).resolve()
    keys: set[str] = set()
    for entry in stages[stage].get("params", []):  # a key, or {file: [keys]}; files are relative to wdir
        listed = {PARAMS_FILE: [entry]} if isinstance(entry, str) else entry
        for file, names in listed.items():
            if (wdir / file).resolve() == ours:
                keys.update(names)
    return frozenset(keys)


class Declared:
    """A read-only view of ``Params`` (or a section) where a stage reads only what dvc.yaml declares for it.

    DVC reruns a stage when a params key it declares changes, and only then: a stage that read an
    undeclared key would keep a stale output. Reading one raises a ``ConfigError`` naming the stage
    and the key. A declared key returns its value (a whole declared section returns the dataclass);
    a section with some keys declared returns another view. ``paths`` and ``tracking`` are not
    params of a stage's result and are always readable.
    """

    def __init__(self, node: Any, stage: str, declared: frozenset[str], prefix: str = "") -> None:
        self._node, self._stage, self._declared, self._prefix = node, stage, declared, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._node, name)
        key = f"{self._prefix}{name}"
        if key.split(".")[0] in INFRASTRUCTURE or any(key == d or key.startswith(f"{d}.") for d in self._declared):
            return value
        if any(d.startswith(f"{key}.") for d in self._declared):
            return Declared(value, self._stage, self._declared, f"{key}.")
        raise ConfigError(f"stage {self._stage} reads {key}, which its params in {pipeline_file()} do not declare: "
                          f"add `- {key}` to its params there, so that a change of it reruns the stage")
