"""The sam family: the published sizes, a usable random start, a box in and a mask out, a HF folder round trip."""

from __future__ import annotations

import torch
from transformers import SamModel

from distillery.models.sam import SIZES, build_sam, sam_config


def test_vit_base_has_the_published_models_size() -> None:
    assert sum(p.numel() for p in build_sam("vit-base").parameters()) == 93_735_728  # SAM ViT-B: 93.7M


def test_the_published_sizes_configs() -> None:
    for size, (hidden, layers, global_attention) in {"vit-large": (1024, 24, [5, 11, 17, 23]),
                                                     "vit-huge": (1280, 32, [7, 15, 23, 31])}.items():
        vision = sam_config(size).vision_config
        assert (vision.hidden_size, vision.num_hidden_layers, list(vision.global_attn_indexes)) == (
            hidden, layers, global_attention)
        assert (vision.image_size, vision.output_channels, vision.num_pos_feats) == (1024, 256, 128)


def test_a_model_built_from_a_config_starts_with_real_weights_and_smooth_position_codes() -> None:
    torch.manual_seed(0)
    model = build_sam("tiny")
    assert sum(p.numel() for p in model.parameters()) == 2_914_432
    assert 0.015 < float(model.vision_encoder.layers[0].attn.qkv.weight.std()) < 0.025  # not 1e-10
    codes = model.shared_image_embedding.positional_embedding
    assert 0.7 < float(codes.std()) < 1.3  # not hidden_size / 2 = 96
    assert model.prompt_encoder.shared_embedding.positional_embedding is codes  # still one tensor


def test_a_box_gives_one_mask_at_4x_the_embedding_grid_and_a_folder_round_trip_keeps_it(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_sam("test").eval()
    side = SIZES["test"].image_size
    inputs = {"pixel_values": torch.randn(1, 3, side, side), "input_boxes": torch.tensor([[[4.0, 8.0, 40.0, 30.0]]]),
              "multimask_output": False}
    with torch.no_grad():
        masks = model(**inputs).pred_masks
    grid = side // SIZES["test"].patch_size
    assert masks.shape == (1, 1, 1, 4 * grid, 4 * grid)
    model.save_pretrained(tmp_path / "sam")
    with torch.no_grad():
        again = SamModel.from_pretrained(tmp_path / "sam").eval()(**inputs).pred_masks
    torch.testing.assert_close(again, masks, rtol=1e-5, atol=1e-9)  # two instances' kernels differ at 1e-11
