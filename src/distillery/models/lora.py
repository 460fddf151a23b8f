"""LoRA adapters via peft, merged back into plain weights so later stages see an ordinary model."""

from __future__ import annotations

import warnings

from transformers import PreTrainedModel

from distillery.config import LoraConfig
from distillery.models.registry import family


def apply_lora(model: PreTrainedModel, family_name: str, cfg: LoraConfig):
    """Wrap ``model``: adapters on the family's target modules; the head trains in full."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    spec = family(family_name)
    peft_config = PeftLoraConfig(
        r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
        target_modules=list(spec.lora_targets), modules_to_save=[spec.head] if spec.head else None,
    )
    with warnings.catch_warnings():  # peft reads a property transformers 5 deprecates; nothing for users to do
        warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)
        return get_peft_model(model, peft_config)


def merge_lora(model) -> PreTrainedModel:
    return model.merge_and_unload()
