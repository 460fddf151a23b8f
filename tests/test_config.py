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


def test_dvc_yaml_has_the_check_then_the_seven_stages_with_entry_points() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["check_params", "prepare", "pull_pretrained", "train", "distill", "quantize", "evaluate",
                            "export"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"python -m stages.{name}"
        assert (REPO / "stages" / f"{name}.py").is_file()
        assert f"stages/{name}.py" in stage["deps"]
        assert name == "check_params" or "${paths.records}/check_params.ok" in stage["deps"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"train.weight_decay": float("inf")}, "train.weight_decay: inf is not a finite number"),
        ({"train.warmup_epochs": float("inf")}, "train.warmup_epochs: inf is not a finite number"),
        ({"distill.temperature": float("inf")}, "distill.temperature: inf is not a finite number"),
        ({"model.input_std": [128.0, float("inf"), 128.0]}, "model.input_std[1]: inf is not a finite number"),
        ({"model.input_mean": [float("nan"), 0.0, 0.0]}, "model.input_mean[0]: nan is not a finite number"),
        ({"seed": 10**20}, "seed: 100000000000000000000 is out of range; expected between 0 and 4294967295"),
        ({"seed": 1e20}, "seed: expected int, got 1e+20"),
        ({"remote.prefix": "../../"}, "remote.prefix: '../../' must be folder names joined by '/'"),
        ({"remote.prefix": "/abs"}, "remote.prefix: '/abs' must be folder names"),
        ({"remote.bucket": "Models_Bucket"}, "remote.bucket: 'Models_Bucket' is not an S3 bucket name"),
        ({"train.threads": 256}, "train.threads: 256 is more than the"),
    ],
)
def test_values_that_failed_later_stages_are_refused_up_front(override: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.load(REPO / "params.yaml", overrides=override)
    assert message in str(err.value) and "\n" not in str(err.value)


def _params_text(**replace: str) -> str:
    text = (REPO / "params.yaml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_params_are_read_as_dvc_reads_them_yaml_1_2(tmp_path) -> None:
    """``seed: 010`` is 10 for DVC (YAML 1.2) and was 8 for the stage (PyYAML, YAML 1.1)."""
    from dvc.utils.serialize import parse_yaml

    path = tmp_path / "params.yaml"
    path.write_text(_params_text(**{"seed: 42": "seed: 010"}))
    assert config.load(path).seed == parse_yaml(path.read_text(), str(path))["seed"] == 10
    path.write_text(_params_text(**{"train:\n  epochs: 5": "train:\n  epochs: 1:30"}))
    with pytest.raises(ConfigError, match="train.epochs: expected int, got '1:30'"):
        config.load(path)
    path.write_text(_params_text(**{"  pretrained: true      #": "  pretrained: yes      #"}))
    with pytest.raises(ConfigError, match="model.pretrained: expected bool, got 'yes'"):
        config.load(path)


def test_anchors_and_aliases_are_refused_before_expansion(tmp_path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "".join(f"{chr(99 + i)}: &{chr(99 + i)} [{', '.join([f'*{chr(98 + i)}'] * 9)}]\n" for i in range(8))
    path = tmp_path / "params.yaml"
    path.write_text(bomb + (REPO / "params.yaml").read_text())
    with pytest.raises(ConfigError, match=r"params.yaml:1: YAML anchors and aliases \(&name, \*name\) are not allowed"):
        config.load(path)


def test_the_old_data_task_key_names_its_replacement() -> None:
    raw = config.read_yaml((REPO / "params.yaml").read_text(), REPO / "params.yaml")
    raw["data"]["task"] = raw["data"].pop("label_mode")
    with pytest.raises(ConfigError, match=r"^data.task: renamed to data.label_mode \(auto \| single_label"):
        config.parse(raw)


def test_an_unknown_task_fails_before_any_work_listing_the_known_ones(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text().replace(
        "task: classification", "task: nosuchtask", 1))
    (tmp_path / "dvc.yaml").write_bytes((REPO / "dvc.yaml").read_bytes())
    result = subprocess.run([sys.executable, "-m", "stages.check_params"], cwd=tmp_path, capture_output=True,
                            text=True, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "check_params: error: task: 'nosuchtask' is not a known task; known tasks: classification" in result.stderr
    assert not (tmp_path / "metrics").exists()


def test_a_stage_reading_an_undeclared_param_fails_naming_it(params) -> None:
    view = config.Declared(params, "quantize", config.declared_params("quantize", REPO / "dvc.yaml"))
    assert view.quantize.method == params.quantize.method and view.train.batch_size == params.train.batch_size
    assert view.paths == params.paths  # where files go is not a param of the result
    with pytest.raises(ConfigError, match=r"stage quantize reads train.lr, which its params in dvc.yaml do not "
                                          r"declare: add `- train.lr`"):
        _ = view.train.lr
    with pytest.raises(ConfigError, match="stage quantize reads model, which"):
        _ = view.model
