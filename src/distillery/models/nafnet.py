"""NAFNet (Chen et al., "Simple Baselines for Image Restoration", ECCV 2022), our own code.

The modules carry the names of the official release (``intro``, ``encoders.i.j.conv1``, ``downs``,
``middle_blks``, ``ups``, ``decoders``, ``ending``; a block's ``conv1..5``, ``sca``, ``norm1/2``,
``beta``, ``gamma``), so an official checkpoint (its state dict under ``params``) loads strictly
into the same width and block counts and partly into others (``distillery.models.transfer``).

It is a ``transformers`` model (``NAFNetConfig``), so that the pipeline saves, reloads and
describes it as it does every other family. The forward maps an image in [0, 1] to the restored
image: the network predicts a residual added to its input, as the official one does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel


class NAFNetConfig(PretrainedConfig):
    model_type = "distillery_nafnet"

    def __init__(self, img_channel: int = 3, width: int = 16, enc_blk_nums: list[int] | None = None,
                 middle_blk_num: int = 1, dec_blk_nums: list[int] | None = None, drop_out_rate: float = 0.0,
                 drop_path_rate: float = 0.0, **kwargs) -> None:
        self.img_channel = img_channel
        self.width = width
        self.enc_blk_nums = list(enc_blk_nums or [1, 1, 1, 1])
        self.middle_blk_num = middle_blk_num
        self.dec_blk_nums = list(dec_blk_nums or [1, 1, 1, 1])
        if len(self.enc_blk_nums) != len(self.dec_blk_nums):
            raise ValueError(f"enc_blk_nums {self.enc_blk_nums} and dec_blk_nums {self.dec_blk_nums} differ in length")
        self.drop_out_rate = drop_out_rate
        self.drop_path_rate = drop_path_rate
        super().__init__(**kwargs)


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an NCHW map (the official ``weight``/``bias``, eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        y = (x - mean) / (var + self.eps).sqrt()
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


class SimpleGate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return x1 * x2


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Stochastic depth on a residual branch: drop it for whole samples, rescale the kept ones."""
    if rate == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - rate)
    return x * keep / (1.0 - rate)


class NAFBlock(nn.Module):
    def __init__(self, c: int, drop_out_rate: float = 0.0, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        dw = 2 * c
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.sg = SimpleGate()
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.dropout1 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.dropout2 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)))
        self.gamma = nn.Parameter(torch.zeros((1, c, 1, 1)))
        self.drop_path_rate = drop_path_rate

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.sg(self.conv2(self.conv1(self.norm1(inp))))
        x = self.dropout1(self.conv3(x * self.sca(x)))
        y = inp + drop_path(x * self.beta, self.drop_path_rate, self.training)
        x = self.dropout2(self.conv5(self.sg(self.conv4(self.norm2(y)))))
        return y + drop_path(x * self.gamma, self.drop_path_rate, self.training)


class NAFNetModel(PreTrainedModel):
    config_class = NAFNetConfig
    base_model_prefix = "nafnet"
    main_input_name = "pixel_values"

    def __init__(self, config: NAFNetConfig) -> None:
        super().__init__(config)
        chan = config.width
        block = lambda c: NAFBlock(c, config.drop_out_rate, config.drop_path_rate)  # noqa: E731
        self.intro = nn.Conv2d(config.img_channel, chan, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        for num in config.enc_blk_nums:
            self.encoders.append(nn.Sequential(*[block(chan) for _ in range(num)]))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, 2))
            chan *= 2
        self.middle_blks = nn.Sequential(*[block(chan) for _ in range(config.middle_blk_num)])
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for num in config.dec_blk_nums:
            self.ups.append(nn.Sequential(nn.Conv2d(chan, 2 * chan, 1, bias=False), nn.PixelShuffle(2)))
            chan //= 2
            self.decoders.append(nn.Sequential(*[block(chan) for _ in range(num)]))
        self.ending = nn.Conv2d(config.width, config.img_channel, 3, padding=1)
        self.padder_size = 2 ** len(self.encoders)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """PyTorch's default initialisation, which the official release trains from."""
        if isinstance(module, nn.Conv2d):
            module.reset_parameters()
        elif isinstance(module, LayerNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, NAFBlock):
            nn.init.zeros_(module.beta)
            nn.init.zeros_(module.gamma)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        height, width = pixel_values.shape[-2:]
        inp = self._pad_to_multiple(pixel_values)
        x = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips), strict=True):
            x = decoder(up(x) + skip)
        x = self.ending(x) + inp
        return x[:, :, :height, :width]

    def _pad_to_multiple(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pad_h, pad_w = -height % self.padder_size, -width % self.padder_size
        return F.pad(x, (0, pad_w, 0, pad_h)) if pad_h or pad_w else x
