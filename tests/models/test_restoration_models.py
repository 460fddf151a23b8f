"""The restoration families: NAFNet with the official release's names, and the ConvNeXt U-Net."""

import pytest
import torch

from distillery.errors import WeightsError
from distillery.models.registry import FAMILIES, count_parameters, create_model
from distillery.models.transfer import load_state_dict, transfer_weights

RESTORATION = [(name, size) for name, spec in FAMILIES.items() if spec.task == "restoration" for size in spec.sizes]
RUNS_HERE = {("nafnet", "w8"), ("nafnet", "w16"), ("nafnet", "w32"), ("convnext_unet", "femto"),
             ("convnext_unet", "pico")}


def official_nafnet_shapes(width: int, enc: list[int], middle: int, dec: list[int]) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of the official NAFNet release's state dict, written out from its
    architecture (megvii-research/NAFNet, basicsr/models/archs/NAFNet_arch.py), not from our class."""
    shapes: dict[str, tuple[int, ...]] = {"intro.weight": (width, 3, 3, 3), "intro.bias": (width,)}

    def block(prefix: str, c: int) -> None:
        for name, shape in {"conv1.weight": (2 * c, c, 1, 1), "conv1.bias": (2 * c,),
                            "conv2.weight": (2 * c, 1, 3, 3), "conv2.bias": (2 * c,),
                            "conv3.weight": (c, c, 1, 1), "conv3.bias": (c,),
                            "sca.1.weight": (c, c, 1, 1), "sca.1.bias": (c,),
                            "conv4.weight": (2 * c, c, 1, 1), "conv4.bias": (2 * c,),
                            "conv5.weight": (c, c, 1, 1), "conv5.bias": (c,),
                            "norm1.weight": (c,), "norm1.bias": (c,), "norm2.weight": (c,), "norm2.bias": (c,),
                            "beta": (1, c, 1, 1), "gamma": (1, c, 1, 1)}.items():
            shapes[f"{prefix}.{name}"] = shape

    chan = width
    for i, count in enumerate(enc):
        for j in range(count):
            block(f"encoders.{i}.{j}", chan)
        shapes[f"downs.{i}.weight"], shapes[f"downs.{i}.bias"] = (2 * chan, chan, 2, 2), (2 * chan,)
        chan *= 2
    for j in range(middle):
        block(f"middle_blks.{j}", chan)
    for i, count in enumerate(dec):
        shapes[f"ups.{i}.0.weight"] = (2 * chan, chan, 1, 1)
        chan //= 2
        for j in range(count):
            block(f"decoders.{i}.{j}", chan)
    shapes["ending.weight"], shapes["ending.bias"] = (3, width, 3, 3), (3,)
    return shapes


def official_checkpoint(shapes: dict[str, tuple[int, ...]], path, seed: int = 0) -> dict[str, torch.Tensor]:
    """A ``.pth`` as the official release saves it: the state dict under ``params``."""
    generator = torch.Generator().manual_seed(seed)
    state = {name: 0.1 * torch.randn(shape, generator=generator) for name, shape in shapes.items()}
    torch.save({"params": state}, path)
    return state


@pytest.mark.parametrize(("family", "size"), sorted(RUNS_HERE))
def test_small_restoration_models_keep_the_image_shape_at_any_size(family: str, size: str) -> None:
    torch.manual_seed(0)
    model = create_model(family, size, [], image_size=0).eval()
    image = torch.rand(1, 3, 37, 45)
    with torch.no_grad():
        restored = model(image)
    assert restored.shape == image.shape and torch.isfinite(restored).all()


def test_sizes_match_the_seed_documents_and_the_measured_cpu_sizes() -> None:
    millions = {(name, size): count_parameters(name, size) / 1e6 for name, size in RESTORATION}
    assert 14 < millions["nafnet", "small"] < 18 and 27 < millions["nafnet", "base"] < 30
    assert 43 < millions["nafnet", "large"] < 47
    assert [round(millions["nafnet", f"w{w}"], 2) for w in (32, 16, 8)] == [1.72, 0.44, 0.11]
    assert 15 < millions["convnext_unet", "nano"] < 19 and 28 < millions["convnext_unet", "tiny"] < 33
    assert 50 < millions["convnext_unet", "small"] < 55 and 88 < millions["convnext_unet", "base"] < 96


@pytest.mark.parametrize(("size", "layout"), [("sidd-width32", (32, [2, 2, 4, 8], 12, [2, 2, 2, 2])),
                                              ("sidd-width64", (64, [2, 2, 4, 8], 12, [2, 2, 2, 2])),
                                              ("gopro-width64", (64, [1, 1, 1, 28], 1, [1, 1, 1, 1]))])
def test_official_sizes_have_the_official_names_and_shapes(size: str, layout) -> None:
    with torch.device("meta"):
        ours = create_model("nafnet", size, [], 0).state_dict()
    assert {name: tuple(t.shape) for name, t in ours.items()} == official_nafnet_shapes(*layout)


def test_an_official_checkpoint_loads_strictly_and_restores_like_the_reference(tmp_path) -> None:
    """Width 8 with the official four-level layout: every tensor transfers, and strict loading agrees."""
    from distillery.models.nafnet import NAFNetConfig, NAFNetModel

    config = NAFNetConfig(width=8, enc_blk_nums=[1, 1, 1, 2], middle_blk_num=1, dec_blk_nums=[1, 1, 1, 1])
    state = official_checkpoint(official_nafnet_shapes(8, [1, 1, 1, 2], 1, [1, 1, 1, 1]), tmp_path / "n.pth")
    model = NAFNetModel(config).eval()
    report = transfer_weights(model, load_state_dict(tmp_path / "n.pth"), "nafnet", "n.pth", min_fraction=1.0)
    assert report.tensors_transferred == report.tensors_total == len(state) and report.unused_in_checkpoint == 0
    strict = NAFNetModel(config).eval()
    strict.load_state_dict(state, strict=True)
    image = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(model(image), strict(image))


def test_another_width_transfers_partly_with_the_report_and_is_refused_under_the_minimum(tmp_path) -> None:
    official_checkpoint(official_nafnet_shapes(16, [1, 1, 2], 2, [1, 1, 1]), tmp_path / "w16.pth")
    state = load_state_dict(tmp_path / "w16.pth")
    model = create_model("nafnet", "w8", [], 0)
    report = transfer_weights(model, state, "nafnet", "w16.pth", min_fraction=0.0)
    assert report.tensors_transferred == 1  # ending.bias, the one tensor whose shape does not follow the width
    assert report.shape_mismatch["intro.weight"] == "checkpoint (16, 3, 3, 3) vs model (8, 3, 3, 3)"
    with pytest.raises(WeightsError, match=r"w16.pth: only 0.0% of the backbone's parameters transferred .* "
                                           r"below train.min_transfer_fraction=0.5"):
        transfer_weights(model, state, "nafnet", "w16.pth", min_fraction=0.5)


def test_more_blocks_at_the_same_width_transfer_what_they_share(tmp_path) -> None:
    """The SIDD layout's first blocks fit the GoPro layout at width 64: a partial transfer, reported."""
    shapes = official_nafnet_shapes(64, [2, 2, 4, 8], 12, [2, 2, 2, 2])
    with torch.device("meta"):
        model = create_model("nafnet", "gopro-width64", [], 0)
    state = {name: torch.empty(shape, device="meta") for name, shape in shapes.items()}
    report = transfer_weights(model, state, "nafnet", "sidd64.pth", min_fraction=0.0)
    assert 0 < report.tensors_transferred < report.tensors_total
    assert "encoders.3.27.conv1.weight" in report.missing_in_checkpoint and report.unused_in_checkpoint > 0
