from __future__ import annotations

import dataclasses

import pytest
import yaml

from distillery import config
from distillery.errors import ConfigError
from tests.conftest import REPO


def test_shipped_params_load() -> None:
    params = config.load(REPO / "params.yaml")
    assert params.data.image_size == 64
    assert params.model.input_std == (128.0, 128.0, 128.0)
    assert params.train.lora.enabled is False


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"data.typo_key": 1}, "data.typo_key: unknown key; known keys here: layout"),
        ({"typo": 1}, "typo: unknown key"),
        ({"train.lr": 0}, "train.lr: 0.0 is out of range; expected > 0"),
        ({"train.epochs": "3"}, "train.epochs: expected int, got '3'"),
        ({"train.lora.rank": 2.5}, "train.lora.rank: expected int"),
        ({"data.layout": "zip"}, "data.layout: 'zip' is not allowed; choose one of: auto, folders"),
        ({"data.on_problem.duplicate": "ignore"}, "data.on_problem.duplicate: 'ignore' is not allowed"),
        ({"data.labels": "a;b"}, "data.labels: expected a list"),
        ({"data.val_fraction": 0.5, "data.test_fraction": 0.5}, "data.val_fraction + data.test_fraction"),
        ({"train.head_epochs": 9}, "train.head_epochs (9) must be < train.epochs"),
        ({"model.input_mean": [1.0, 2.0]}, "model.input_mean: expected 3 values"),
        ({"seed": True}, "seed: expected int, got True"),
    ],
)
def test_bad_values_name_the_key(override: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(REPO / "params.yaml", overrides=override)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_key_is_named(tmp_path) -> None:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    del raw["train"]["patience"]
    with pytest.raises(ConfigError, match=r"^train.patience: missing key"):
        config.parse(raw)


def test_scientific_notation_string_is_a_float() -> None:
    assert config.load(REPO / "params.yaml", overrides={"train.lr": "1e-3"}).train.lr == 0.001


def test_params_are_frozen(params) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.train.lr = 1.0  # type: ignore[misc]


def _leaf_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        keys.add(dotted)
        if isinstance(value, dict):
            keys |= _leaf_keys(value, f"{dotted}.")
    return keys


def test_every_dvc_yaml_param_exists_in_params_yaml() -> None:
    known = _leaf_keys(yaml.safe_load((REPO / "params.yaml").read_text()))
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    listed = {(name, key) for name, stage in stages.items() for key in stage.get("params", [])}
    assert listed, "dvc.yaml lists no params"
    missing = sorted(f"{name}: {key}" for name, key in listed if key not in known)
    assert not missing, missing


def test_dvc_yaml_has_the_seven_stages_with_entry_points() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["prepare", "pull_pretrained", "train", "distill", "quantize", "evaluate", "export"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"python -m stages.{name}"
        assert (REPO / "stages" / f"{name}.py").is_file()
        assert f"stages/{name}.py" in stage["deps"]
