import subprocess
import sys

import pytest
import torch

from distillery.errors import ConfigError
from distillery.models.registry import BUILT_IN, FAMILIES, check_known, count_parameters, create_model

LABELS = ["a", "b", "c"]
ALL = [(family, size) for family, spec in FAMILIES.items() for size in spec.sizes if spec.task == "classification"]
BIG = {("convnext", "small"), ("convnext", "base")}  # built for counting only; forward is the same code


def test_the_required_families_and_a_tiny_size_each() -> None:
    assert {"convnext", "efficientnet", "mobilenet_v2", "resnet", "vit"} <= set(FAMILIES)
    assert {"nano", "tiny", "small", "base"} <= set(FAMILIES["convnext"].sizes)
    assert {"b0", "b1", "b2", "b3"} <= set(FAMILIES["efficientnet"].sizes)
    for name, spec in FAMILIES.items():
        assert min(count_parameters(name, size) for size in spec.sizes) < 0.5e6, name


@pytest.mark.parametrize(("family", "size"), [fs for fs in ALL if fs not in BIG])
def test_every_registered_model_builds_and_runs(family: str, size: str) -> None:
    torch.manual_seed(0)
    model = create_model(family, size, LABELS, image_size=32, task="multi_label").eval()
    with torch.no_grad():
        logits = model(pixel_values=torch.randn(2, 3, 32, 32)).logits
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    assert model.config.id2label == {0: "a", 1: "b", 2: "c"}


@pytest.mark.parametrize(("family", "size"), sorted(BIG))
def test_big_models_count_without_allocating(family: str, size: str) -> None:
    assert count_parameters(family, size) > 40e6


def test_sizes_match_the_seed_documents() -> None:
    millions = {size: count_parameters("convnext", size) / 1e6 for size in ("nano", "tiny", "small", "base")}
    assert 14 < millions["nano"] < 16 and 27 < millions["tiny"] < 29 and 48 < millions["small"] < 51
    assert 86 < millions["base"] < 90
    assert count_parameters("resnet", "quarter") < 0.2 * count_parameters("resnet", "base")


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"model.family: 'resnett' is unknown; known families: resnet, convnext"):
        check_known("resnett", "base")
    with pytest.raises(ConfigError, match=r"model.size: 'huge' is unknown for vit; known sizes: tiny, small, base"):
        create_model("vit", "huge", LABELS, 64)


def test_mobilenet_batchnorm_uses_pytorch_momentum() -> None:
    model = create_model("mobilenet_v2", "tiny", LABELS, 32)
    assert {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {0.1}


def test_models_list_cli(capsys) -> None:
    from distillery.models.__main__ import main

    main(["list"])
    out = capsys.readouterr().out
    assert "convnext       base" in out and "87.58M" in out and "resnet         quarter" in out
    assert "nafnet         sidd-width64  restoration        115.98M  any" in out


def test_the_table_imports_no_model_code_and_declares_what_it_names() -> None:
    """check_params, prepare and pull_pretrained import the registry: it must not pull in transformers
    (2.6 s a stage), and every project module it names must be in BUILT_IN, where distillery.deps finds it."""
    code = ("import sys, distillery.models.registry, distillery.tasks.base; "
            "print(sorted(m for m in ('transformers', 'distillery.models.nafnet') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
    named = {spec.model.partition(":")[0] for spec in FAMILIES.values()}
    assert {m for m in named if m.startswith("distillery.")} == set(BUILT_IN)
