"""The model registry: family x size -> a Hugging Face ``transformers`` model built from a config.

One table entry per size (timm-style), no hub access. ``create_model`` fails with the list of
known names; ``python -m distillery.models list`` prints the table. Each family names the task
whose models it builds: classifiers take labels, restoration networks (image in, image out, any
size) take none.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distillery.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn
    from transformers import EfficientNetConfig, PretrainedConfig, PreTrainedModel

# The project's modules the table names (``distillery.deps`` reads this tuple: they are deps of every stage
# that imports the registry, though only imported by name)
BUILT_IN = ("distillery.models.convnext_unet", "distillery.models.nafnet")

PROBLEM_TYPES = {"single_label": "single_label_classification", "multi_label": "multi_label_classification"}


def _efficientnet_config(**kwargs: Any) -> EfficientNetConfig:
    from transformers import EfficientNetConfig
    from transformers.models.efficientnet.modeling_efficientnet import round_filters

    config = EfficientNetConfig(**kwargs)
    config.hidden_dim = round_filters(config, 1280)  # HF's default is B7's; the top BN must match
    return config


def _pytorch_batchnorm_momentum(model: nn.Module) -> None:
    """HF MobileNetV2 hard-codes TensorFlow's BN momentum (0.997 = PyTorch 0.003); use PyTorch's 0.1."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1


def _imported(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Family:
    """A family's classes are named ``module:Class`` and imported on first use: the table itself imports
    neither torch nor transformers (2.6 s), so stages that only check names (check_params, prepare,
    pull_pretrained) start without them."""

    model: str
    config: str | Callable[..., PretrainedConfig]  # ``module:Class``, or a function that builds the config
    sizes: dict[str, dict[str, Any]]
    lora_targets: tuple[str, ...]
    head: str | None = "classifier"  # re-initialised for new labels on transfer; None: nothing task-specific
    takes_image_size: bool = False
    after_build: Callable[[nn.Module], None] | None = field(default=None)
    task: str = "classification"  # the task (distillery.tasks) whose models this family builds
    config_defaults: dict[str, Any] = field(default_factory=dict)  # what every size's config shares

    @property
    def model_class(self) -> type[PreTrainedModel]:
        return _imported(self.model)

    def make_config(self, **kwargs: Any) -> PretrainedConfig:
        build = _imported(self.config) if isinstance(self.config, str) else self.config
        return build(**self.config_defaults, **kwargs)


def _nafnet(width: int, enc: list[int], middle: int, dec: list[int], dropout: float = 0.0,
            drop_path: float = 0.0) -> dict[str, Any]:
    return {"width": width, "enc_blk_nums": enc, "middle_blk_num": middle, "dec_blk_nums": dec,
            "drop_out_rate": dropout, "drop_path_rate": drop_path}


_SIDD_BLOCKS = ([2, 2, 4, 8], 12, [2, 2, 2, 2])  # the official SIDD models' block counts
_GOPRO_BLOCKS = ([1, 1, 1, 28], 1, [1, 1, 1, 1])  # the official GoPro models'
_CPU_BLOCKS = ([1, 1, 2], 2, [1, 1, 1])  # three levels: sizes that train on 2 CPU cores

FAMILIES: dict[str, Family] = {
    "resnet": Family(
        "transformers:ResNetForImageClassification",
        "transformers:ResNetConfig",
        {
            "tiny": {"embedding_size": 8, "hidden_sizes": [8, 16, 32, 64], "depths": [1, 1, 1, 1]},
            "quarter": {"embedding_size": 32, "hidden_sizes": [16, 32, 64, 128], "depths": [2, 2, 2, 2]},
            "small": {"embedding_size": 32, "hidden_sizes": [20, 40, 80, 160], "depths": [2, 2, 2, 2]},
            "base": {"embedding_size": 32, "hidden_sizes": [40, 80, 160, 320], "depths": [2, 2, 2, 2]},
            "large": {"embedding_size": 64, "hidden_sizes": [64, 128, 256, 512], "depths": [2, 2, 2, 2]},
        },
        lora_targets=("convolution",),
        config_defaults={"layer_type": "basic"},
    ),
    "convnext": Family(
        "transformers:ConvNextForImageClassification",
        "transformers:ConvNextConfig",
        {
            "tiny-test": {"hidden_sizes": [8, 16, 32, 64], "depths": [1, 1, 1, 1]},
            "nano": {"hidden_sizes": [80, 160, 320, 640], "depths": [2, 2, 8, 2], "drop_path_rate": 0.05},
            "tiny": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 9, 3], "drop_path_rate": 0.1},
            "small": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 27, 3], "drop_path_rate": 0.2},
            "base": {"hidden_sizes": [128, 256, 512, 1024], "depths": [3, 3, 27, 3], "drop_path_rate": 0.3},
        },
        lora_targets=("pwconv1", "pwconv2"),
    ),
    "efficientnet": Family(
        "transformers:EfficientNetForImageClassification",
        _efficientnet_config,
        {
            "tiny": {"width_coefficient": 0.25, "depth_coefficient": 0.25, "dropout_rate": 0.1},
            "b0": {"width_coefficient": 1.0, "depth_coefficient": 1.0, "dropout_rate": 0.2},
            "b1": {"width_coefficient": 1.0, "depth_coefficient": 1.1, "dropout_rate": 0.2},
            "b2": {"width_coefficient": 1.1, "depth_coefficient": 1.2, "dropout_rate": 0.3},
            "b3": {"width_coefficient": 1.2, "depth_coefficient": 1.4, "dropout_rate": 0.3},
        },
        lora_targets=("expand_conv", "project_conv"),
        takes_image_size=True,
    ),
    "mobilenet_v2": Family(
        "transformers:MobileNetV2ForImageClassification",
        "transformers:MobileNetV2Config",
        {
            "tiny": {"depth_multiplier": 0.35},
            "small": {"depth_multiplier": 0.5},
            "base": {"depth_multiplier": 1.0},
        },
        lora_targets=("convolution",),
        takes_image_size=True,
        after_build=_pytorch_batchnorm_momentum,
    ),
    "vit": Family(
        "transformers:ViTForImageClassification",
        "transformers:ViTConfig",
        {
            "tiny": {"patch_size": 8, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "intermediate_size": 64},
            "small": {"patch_size": 8, "hidden_size": 192, "num_hidden_layers": 6, "num_attention_heads": 3,
                      "intermediate_size": 768},
            "base": {"patch_size": 8, "hidden_size": 384, "num_hidden_layers": 8, "num_attention_heads": 6,
                     "intermediate_size": 1536},
        },
        lora_targets=("q_proj", "v_proj"),
        takes_image_size=True,
    ),
    "nafnet": Family(
        "distillery.models.nafnet:NAFNetModel",
        "distillery.models.nafnet:NAFNetConfig",
        {
            "w8": _nafnet(8, *_CPU_BLOCKS),
            "w16": _nafnet(16, *_CPU_BLOCKS),
            "w32": _nafnet(32, *_CPU_BLOCKS),
            "small": _nafnet(24, *_SIDD_BLOCKS, dropout=0.10),  # seed 001: ~15M, dropout 0.10
            "base": _nafnet(32, *_SIDD_BLOCKS, dropout=0.05),  # ~28M, 0.05; SIDD width 32's shapes
            "large": _nafnet(40, *_SIDD_BLOCKS),  # ~45M, no dropout
            "sidd-width32": _nafnet(32, *_SIDD_BLOCKS),
            "sidd-width64": _nafnet(64, *_SIDD_BLOCKS),
            "gopro-width64": _nafnet(64, *_GOPRO_BLOCKS),
        },
        lora_targets=("conv1", "conv3", "conv4", "conv5"),  # the 1x1 convolutions; conv2 is depthwise
        head=None,
        task="restoration",
    ),
    "convnext_unet": Family(
        "distillery.models.convnext_unet:ConvNextUNetModel",
        "distillery.models.convnext_unet:ConvNextUNetConfig",
        {
            "femto": {"hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1]},
            "pico": {"hidden_sizes": [32, 64, 128, 256], "depths": [1, 1, 2, 1]},
            "nano": {"hidden_sizes": [80, 160, 320, 640], "depths": [2, 2, 8, 2], "drop_path_rate": 0.05},
            "tiny": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 9, 3], "drop_path_rate": 0.1},
            "small": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 27, 3], "drop_path_rate": 0.15},
            "base": {"hidden_sizes": [128, 256, 512, 1024], "depths": [3, 3, 27, 3], "drop_path_rate": 0.2},
        },
        lora_targets=("pwconv1", "pwconv2"),
        head=None,
        task="restoration",
    ),
}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise ConfigError(f"model family {name!r} is unknown; known families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def check_known(family_name: str, size: str, key: str = "model") -> None:
    """Fail with the known names when ``family_name``/``size`` is not registered."""
    if family_name not in FAMILIES:
        raise ConfigError(f"{key}.family: {family_name!r} is unknown; known families: {', '.join(FAMILIES)}")
    sizes = FAMILIES[family_name].sizes
    if size not in sizes:
        raise ConfigError(f"{key}.size: {size!r} is unknown for {family_name}; known sizes: {', '.join(sizes)}")


def build_config(family_name: str, size: str, labels: list[str], image_size: int, task: str) -> PretrainedConfig:
    """The family's config at ``size``; a classifier's also carries ``labels`` and its ``task`` (problem type)."""
    check_known(family_name, size)
    spec = FAMILIES[family_name]
    kwargs = dict(spec.sizes[size])
    if spec.task != "classification":
        return spec.make_config(**kwargs)
    if spec.takes_image_size:
        kwargs["image_size"] = image_size
    return spec.make_config(
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        problem_type=PROBLEM_TYPES[task],
        **kwargs,
    )


def instantiate(family_name: str, config: PretrainedConfig) -> PreTrainedModel:
    spec = family(family_name)
    model = spec.model_class(config)
    if spec.after_build:
        spec.after_build(model)
    return model


def create_model(
    family_name: str, size: str, labels: list[str], image_size: int, task: str = "multi_label"
) -> PreTrainedModel:
    """A freshly initialised classifier for ``labels`` at ``image_size`` x ``image_size``."""
    return instantiate(family_name, build_config(family_name, size, labels, image_size, task))


def count_parameters(family_name: str, size: str, num_labels: int = 10, image_size: int = 64) -> int:
    """Parameter count without allocating weights (built on the meta device)."""
    config = build_config(family_name, size, [str(i) for i in range(num_labels)], image_size, "multi_label")
    import torch

    with torch.device("meta"):
        model = FAMILIES[family_name].model_class(config)
    return sum(p.numel() for p in model.parameters())


def is_head(name: str, family_name: str) -> bool:
    head = FAMILIES[family_name].head
    return head is not None and (name == head or name.startswith(f"{head}."))
