"""``python -m distillery.params``: params.yaml edited from the shell, comments kept, nothing bad written."""

from __future__ import annotations

import shutil

import pytest

from distillery import config, params
from tests.dvc_repo import REPO


@pytest.fixture
def params_file(tmp_path):
    return shutil.copy2(REPO / "params.yaml", tmp_path / "params.yaml")


def test_set_changes_only_those_values_and_keeps_every_comment(params_file) -> None:
    before = params_file.read_text()
    long_path = "/data/my photos/" + "deep/" * 20  # longer than a YAML line: must stay on its key's line
    params.main(["--file", str(params_file), "set", f"paths.raw={long_path}", "train.augment.hflip=0.5",
                 "data.labels=[cat, dog]", "model.pretrained=false"])
    after = params_file.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 4 and all("#" in b for _, b in changed if "#" in _)
    loaded = config.load(params_file)
    assert str(loaded.paths.raw) == "/data/my photos/" + "deep/" * 19 + "deep" and loaded.train.augment.hflip == 0.5
    assert list(loaded.data.labels) == ["cat", "dog"] and loaded.model.pretrained is False


@pytest.mark.parametrize(("assignment", "message"), [
    ("train.epochs=0", "train.epochs: 0 is out of range"),
    ("train.epoch=3", "train.epoch: not a key of"),
    ("nosection.key=1", "nosection.key: 'nosection' is not a section"),
    ("train.epochs", "expected KEY=VALUE"),
])
def test_a_bad_assignment_names_the_key_and_writes_nothing(params_file, capsys, assignment, message) -> None:
    before = params_file.read_bytes()
    with pytest.raises(SystemExit) as stopped:
        params.main(["--file", str(params_file), "set", "seed=7", assignment])
    assert stopped.value.code == 1 and message in capsys.readouterr().err
    assert params_file.read_bytes() == before


def test_get_prints_a_value_or_a_section(params_file, capsys) -> None:
    params.main(["--file", str(params_file), "get", "train.augment"])
    assert "hflip: 0.0" in capsys.readouterr().out
    params.main(["--file", str(params_file), "get", "seed"])
    assert capsys.readouterr().out == "42\n"
