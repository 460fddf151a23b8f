"""Bad input, one of each kind, through the real stage entry points: exit 1, one line naming the culprit, no output.

The full catalogue is tested where each check lives: params in test_config.py, every data
problem in data/test_prepare.py, weights in models/test_transfer.py, the remote in
remote/test_remote.py. Here the same errors are seen the way a user meets them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from distillery.data.demo import DemoSpec, write_multilabel
from distillery.models.registry import create_model
from tests.workdir import REPO, Workdir


def zero_byte_image(work: Workdir) -> str:
    first = sorted((work.path("raw") / "images" / "train").iterdir())[0]
    first.write_bytes(b"")
    return f"unreadable: {first.relative_to(work.path('raw'))} (zero-byte file"


def truncated_teacher_weights(work: Workdir) -> str:
    work.prepare((64, 24, 24))
    folder = work.path("pretrained") / "teacher"
    create_model("resnet", "tiny", [str(d) for d in range(10)], 32, "single_label").save_pretrained(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    return f"{weights.relative_to(work.root)}: not a readable weights file"


def wrong_credentials(work: Workdir, settings) -> str:
    work.use_s3(replace(settings, secret_key="not-the-secret"))
    return f"access key {settings.access_key!r}"


CASES: dict[str, tuple[str, dict, Callable[..., str], str]] = {
    # name: (stage, params, make the problem -> the culprit the message must name, output that must not exist)
    "unknown model size": ("pull_pretrained", {"model.size": "huge"},
                           lambda work, s3: "model.size: 'huge' is unknown for resnet", "pretrained"),
    "zero-byte image": ("prepare", {}, lambda work, s3: zero_byte_image(work), "prepared"),
    "truncated weights": ("train", {"model.pretrained": True}, lambda work, s3: truncated_teacher_weights(work),
                          "teacher"),
    "wrong S3 credentials": ("pull_pretrained", {}, wrong_credentials, "pretrained"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_the_stage_with_one_line_naming_it(case: str, tmp_path: Path, s3_server) -> None:
    stage, overrides, make_problem, output = CASES[case]
    work = Workdir(tmp_path, overrides)
    write_multilabel(work.path("raw"), DemoSpec(counts=(64, 24, 24), seed=6))
    torch.manual_seed(0)
    culprit = make_problem(work, s3_server)
    result = work.stage(stage, check=False)
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith(f"{stage}: error: ")]
    assert len(errors) == 1 and culprit in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    produced = work.path(output) / "teacher" if output == "pretrained" else work.path(output)
    assert not produced.exists()


def test_a_stage_run_outside_the_venv_says_how_to_fix_it() -> None:
    """``-S`` drops site-packages, as a ``python`` from PATH without the project's environment would."""
    result = subprocess.run([sys.executable, "-S", "-m", "stages.prepare"], cwd=REPO, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 1
    assert "stages: error: the distillery package is not installed" in result.stderr
    assert "source .venv/bin/activate" in result.stderr and "Traceback" not in result.stderr
