"""Pretrained loading: formats, the refusal of pickled code, truncated files, and layer transfer."""

from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import save_file

from distillery.errors import WeightsError
from distillery.models.checkpoint import ModelMeta, load_model_dir, save_model_dir
from distillery.models.published import SAME_ARCHITECTURE_AS
from distillery.models.registry import FAMILIES, create_model, is_head
from distillery.models.transfer import find_weights_file, load_state_dict, normalise_name, transfer_weights

DIGITS = [str(i) for i in range(10)]


def test_transfer_from_another_label_set_keeps_backbone_and_reinitialises_head() -> None:
    torch.manual_seed(0)
    source = create_model("resnet", "tiny", DIGITS, 32, "single_label")
    target = create_model("resnet", "tiny", ["x", "y", "z"], 32, "multi_label")
    before_head = target.classifier[1].weight.clone()
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    report = transfer_weights(target, state, "resnet", "src", min_fraction=0.5)
    assert report.backbone_fraction == 1.0
    assert report.head_reinitialised == ["classifier.1.weight", "classifier.1.bias"]
    assert torch.equal(target.resnet.embedder.embedder.convolution.weight,
                       source.resnet.embedder.embedder.convolution.weight)
    assert torch.equal(target.classifier[1].weight, before_head)
    assert report.unused_in_checkpoint == 2


def test_wrong_architecture_is_refused_with_the_numbers() -> None:
    source = create_model("vit", "tiny", DIGITS, 32)
    target = create_model("resnet", "tiny", DIGITS, 32)
    with pytest.raises(WeightsError, match=r"only 0.0% of the backbone's parameters transferred .* "
                                           r"train.min_transfer_fraction=0.5; wrong architecture or size"):
        transfer_weights(target, source.state_dict(), "resnet", "vit.safetensors", 0.5)


def test_other_size_transfers_partially_and_reports_shapes() -> None:
    source = create_model("resnet", "small", DIGITS, 32)
    target = create_model("resnet", "base", DIGITS, 32)
    report = transfer_weights(target, source.state_dict(), "resnet", "small", min_fraction=0.0)
    assert 0 < report.tensors_transferred < report.tensors_total
    assert any("checkpoint (20," in reason for reason in report.shape_mismatch.values())


def test_normalise_name_strips_wrapper_prefixes() -> None:
    assert normalise_name("module._orig_mod.resnet.x") == "resnet.x"
    assert normalise_name("base_model.model.classifier.1.weight") == "classifier.1.weight"


def test_pth_with_code_is_refused(tmp_path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2), "payload": Evil()}, path)
    with pytest.raises(WeightsError, match=r"evil.pth: refused: the file holds pickled objects beyond tensors"):
        load_state_dict(path)
    assert not (tmp_path / "pwned").exists()


def test_plain_pth_and_truncated_files(tmp_path) -> None:
    torch.save({"state_dict": {"w": torch.ones(3)}}, tmp_path / "ok.pth")
    assert torch.equal(load_state_dict(tmp_path / "ok.pth")["w"], torch.ones(3))
    save_file({"w": torch.ones(1000)}, tmp_path / "model.safetensors")
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"model.safetensors: not a readable weights file \(truncated or corrupt"):
        load_state_dict(tmp_path / "model.safetensors")
    (tmp_path / "cut.pth").write_bytes((tmp_path / "ok.pth").read_bytes()[:40])
    with pytest.raises(WeightsError, match="cut.pth: not a readable weights file"):
        load_state_dict(tmp_path / "cut.pth")


def test_find_weights_file(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(WeightsError, match="expected one weights file"):
        find_weights_file(tmp_path)
    (tmp_path / "w.pth").write_bytes(b"x")
    assert find_weights_file(tmp_path).name == "w.pth"
    (tmp_path / "model.safetensors").write_bytes(b"x")
    assert find_weights_file(tmp_path).name == "model.safetensors"


def test_model_folder_rebuilds_the_same_model(tmp_path) -> None:
    torch.manual_seed(1)
    model = create_model("mobilenet_v2", "tiny", ["a", "b"], 32, "single_label").eval()
    meta = ModelMeta("mobilenet_v2", "tiny", "single_label", ["a", "b"], 32, [127.0] * 3, [128.0] * 3,
                     {"size": 32, "pad_value": 0}, {"note": "test"})
    save_model_dir(model, meta, tmp_path / "m")
    loaded, loaded_meta = load_model_dir(tmp_path / "m")
    assert loaded_meta == meta
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(pixel_values=x).logits, loaded(pixel_values=x).logits)
    assert {m.momentum for m in loaded.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {0.1}
    with pytest.raises(WeightsError, match="not found; is .* a model folder"):
        load_model_dir(tmp_path / "nope")


# Architecture fields of each checkpoint's published config.json (transcribed; no hub access here).
PUBLISHED_CONFIGS = {
    "microsoft/resnet-18": {"embedding_size": 64, "hidden_sizes": [64, 128, 256, 512], "depths": [2, 2, 2, 2],
                            "layer_type": "basic", "downsample_in_first_stage": False},
    "facebook/convnext-tiny-224": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 9, 3]},
    "facebook/convnext-small-224": {"hidden_sizes": [96, 192, 384, 768], "depths": [3, 3, 27, 3]},
    "facebook/convnext-base-224": {"hidden_sizes": [128, 256, 512, 1024], "depths": [3, 3, 27, 3]},
    "google/efficientnet-b0": {"width_coefficient": 1.0, "depth_coefficient": 1.0, "hidden_dim": 1280},
    "google/efficientnet-b1": {"width_coefficient": 1.0, "depth_coefficient": 1.1, "hidden_dim": 1280},
    "google/efficientnet-b2": {"width_coefficient": 1.1, "depth_coefficient": 1.2, "hidden_dim": 1408},
    "google/efficientnet-b3": {"width_coefficient": 1.2, "depth_coefficient": 1.4, "hidden_dim": 1536},
    "google/mobilenet_v2_1.0_224": {"depth_multiplier": 1.0},
}


@pytest.mark.parametrize(("family_name", "size"), sorted(SAME_ARCHITECTURE_AS))
def test_sizes_named_after_a_published_checkpoint_take_all_of_its_backbone(family_name, size) -> None:
    """Built on the meta device: names and shapes only, which is what transfer matches on."""
    spec = FAMILIES[family_name]
    published = spec.model_class.config_class(num_labels=1000, image_size=224,
                                              **PUBLISHED_CONFIGS[SAME_ARCHITECTURE_AS[family_name, size]])
    with torch.device("meta"):
        theirs = spec.model_class(published).state_dict()
        ours = create_model(family_name, size, ["a", "b", "c"], 64, "single_label").state_dict()
    backbone = {name: tensor.shape for name, tensor in ours.items() if not is_head(name, family_name)}
    assert backbone and {name: theirs[name].shape for name in backbone if name in theirs} == backbone
