"""A ConvNeXt U-Net for image restoration: a ``transformers`` ``ConvNextModel`` encoder, a U-Net decoder.

The encoder's hidden states (``output_hidden_states=True``) are maps at strides 4, 4, 8, 16 and 32.
The decoder climbs back one stride at a time: a 1x1 convolution and a pixel shuffle (which int8
converters handle, unlike transposed convolutions on some runtimes) doubles the resolution, the
encoder's map at that stride is added through a 1x1 projection, and ConvNeXt blocks (transformers'
own ``ConvNextLayer``) mix. Strides 2 and 1 have no encoder map: a full-resolution stem of two 3x3
convolutions supplies the fine detail the stride-4 patchify discards. Like NAFNet, the network
predicts a residual added to its input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import ConvNextConfig, ConvNextModel, PretrainedConfig, PreTrainedModel
from transformers.models.convnext.modeling_convnext import ConvNextLayer

PADDER = 32  # the encoder's deepest stride


class ConvNextUNetConfig(PretrainedConfig):
    model_type = "distillery_convnext_unet"

    def __init__(self, img_channel: int = 3, hidden_sizes: list[int] | None = None, depths: list[int] | None = None,
                 decoder_depth: int = 1, drop_path_rate: float = 0.0, **kwargs) -> None:
        self.img_channel = img_channel
        self.hidden_sizes = list(hidden_sizes or [32, 64, 128, 256])
        self.depths = list(depths or [1, 1, 2, 1])
        if len(self.hidden_sizes) != 4 or len(self.depths) != 4:
            raise ValueError(f"hidden_sizes {self.hidden_sizes} and depths {self.depths} need 4 stages each")
        self.decoder_depth = decoder_depth
        self.drop_path_rate = drop_path_rate
        super().__init__(**kwargs)

    def encoder_config(self) -> ConvNextConfig:
        return ConvNextConfig(num_channels=self.img_channel, hidden_sizes=self.hidden_sizes, depths=self.depths,
                              drop_path_rate=self.drop_path_rate)


class _Up(nn.Module):
    """Double the resolution: 1x1 convolution to 4x the output channels, then a pixel shuffle."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(channels_in, 4 * channels_out, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.proj(x))


class _DecoderStage(nn.Module):
    def __init__(self, config: ConvNextConfig, channels_in: int, channels: int, skip_channels: int, depth: int) -> None:
        super().__init__()
        self.up = _Up(channels_in, channels)
        self.skip = nn.Conv2d(skip_channels, channels, 1)
        self.blocks = nn.Sequential(*[ConvNextLayer(config, channels) for _ in range(depth)])

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.up(x) + self.skip(skip))


class ConvNextUNetModel(PreTrainedModel):
    config_class = ConvNextUNetConfig
    base_model_prefix = "convnext_unet"
    main_input_name = "pixel_values"

    def __init__(self, config: ConvNextUNetConfig) -> None:
        super().__init__(config)
        c1, c2, c3, c4 = config.hidden_sizes
        fine = max(c1 // 2, 8)
        encoder_config = config.encoder_config()
        self.encoder = ConvNextModel(encoder_config)
        self.stem = nn.Sequential(nn.Conv2d(config.img_channel, fine, 3, padding=1), nn.GELU(),
                                  nn.Conv2d(fine, fine, 3, padding=1))
        self.stem_down = nn.Conv2d(fine, fine, 2, 2)
        depth = config.decoder_depth
        self.decoders = nn.ModuleList([
            _DecoderStage(encoder_config, c4, c3, c3, depth),  # stride 32 -> 16
            _DecoderStage(encoder_config, c3, c2, c2, depth),  # 16 -> 8
            _DecoderStage(encoder_config, c2, c1, c1 + c1, depth),  # 8 -> 4: stage 1 and the patchified input
            _DecoderStage(encoder_config, c1, fine, fine, depth),  # 4 -> 2: the stem, downsampled
            _DecoderStage(encoder_config, fine, fine, fine, depth),  # 2 -> 1: the stem
        ])
        self.ending = nn.Conv2d(fine, config.img_channel, 3, padding=1)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """PyTorch's default initialisation for our layers; transformers' own for the encoder's."""
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.LayerNorm)):
            module.reset_parameters()

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        height, width = pixel_values.shape[-2:]
        inp = self._pad_to_multiple(pixel_values)
        hidden = self.encoder(inp, output_hidden_states=True).hidden_states
        patches, s4, s8, s16, s32 = hidden
        fine = self.stem(inp)
        x = self.decoders[0](s32, s16)
        x = self.decoders[1](x, s8)
        x = self.decoders[2](x, torch.cat([s4, patches], dim=1))
        x = self.decoders[3](x, self.stem_down(fine))
        x = self.decoders[4](x, fine)
        x = self.ending(x) + inp
        return x[:, :, :height, :width]

    @staticmethod
    def _pad_to_multiple(x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pad_h, pad_w = -height % PADDER, -width % PADDER
        return F.pad(x, (0, pad_w, 0, pad_h)) if pad_h or pad_w else x
