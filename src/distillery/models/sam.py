"""The ``sam`` family (segmentation, issue 18): transformers' ``SamModel`` in the published sizes and tiny ones.

``vit-base``, ``vit-large`` and ``vit-huge`` are the configurations of the published
``facebook/sam-vit-*`` checkpoints, so that a Hugging Face SAM folder (config.json +
model.safetensors) published to the bucket loads into them; ``tiny`` (2.9M parameters, 256 px,
the demo's) and ``test`` (a few hundred thousand, for the tests) are for CPUs.

Built from a config (pretraining, or a size without weights), transformers' defaults start SAM
badly: ``SamVisionConfig.initializer_range`` is 1e-10, so every vision weight starts near zero,
and the random Fourier features of the prompt and image positional embedding are drawn with a
standard deviation of ``hidden_size / 2`` (96 for the tiny size, 640 for vit-huge) over
coordinates in [0, 1], so neighbouring pixels get unrelated codes. The original SAM draws them with
a standard deviation of 1; ``build_sam`` uses 0.02 and 1. Loading published weights overwrites both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import SamConfig, SamMaskDecoderConfig, SamModel, SamPromptEncoderConfig, SamVisionConfig

INITIALIZER_RANGE = 0.02
FOURIER_STD = 1.0  # the original SAM's PositionEmbeddingRandom scale


@dataclass(frozen=True)
class SamSize:
    hidden_size: int
    layers: int
    heads: int
    global_attention: tuple[int, ...]
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    output_channels: int = 256  # the image embedding's channels: the prompt encoder's and decoder's width
    decoder_mlp: int = 2048
    decoder_heads: int = 8


SIZES = {
    "vit-base": SamSize(768, 12, 12, (2, 5, 8, 11)),
    "vit-large": SamSize(1024, 24, 16, (5, 11, 17, 23)),
    "vit-huge": SamSize(1280, 32, 16, (7, 15, 23, 31)),
    "tiny": SamSize(192, 4, 6, (1, 3), image_size=256, window_size=8, output_channels=128, decoder_mlp=512,
                    decoder_heads=4),
    "test": SamSize(64, 2, 2, (1,), image_size=64, patch_size=8, window_size=4, output_channels=32, decoder_mlp=64,
                    decoder_heads=2),
}


def sam_config(size: str, attn_implementation: str = "sdpa") -> SamConfig:
    """The ``SamConfig`` of a size; ``eager`` attention for the ONNX export (the sdpa path fails there)."""
    s = SIZES[size]
    vision = SamVisionConfig(hidden_size=s.hidden_size, num_hidden_layers=s.layers, num_attention_heads=s.heads,
                             global_attn_indexes=list(s.global_attention), image_size=s.image_size,
                             patch_size=s.patch_size, window_size=s.window_size, output_channels=s.output_channels,
                             num_pos_feats=s.output_channels // 2, initializer_range=INITIALIZER_RANGE)
    prompt = SamPromptEncoderConfig(hidden_size=s.output_channels, image_size=s.image_size, patch_size=s.patch_size)
    decoder = SamMaskDecoderConfig(hidden_size=s.output_channels, mlp_dim=s.decoder_mlp,
                                   num_attention_heads=s.decoder_heads, iou_head_hidden_dim=s.output_channels)
    config = SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder,
                       initializer_range=INITIALIZER_RANGE)
    config._attn_implementation = attn_implementation
    return config


def build_sam(size: str, attn_implementation: str = "sdpa") -> SamModel:
    """A ``SamModel`` of ``size`` with a usable random start (see the module's docstring)."""
    model = SamModel(sam_config(size, attn_implementation))
    with torch.no_grad():  # the prompt encoder's is the same tensor (tied in transformers' model)
        model.shared_image_embedding.positional_embedding.normal_(0.0, FOURIER_STD)
    return model
