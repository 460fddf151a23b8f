"""README 'Using your own data', followed literally: its walkthrough block, line by line, in new shells.

A copy of this repository (its ``.venv`` linked), a class-folder dataset outside it, the tests' tiny
model sizes; every line of the README's block runs in a fresh ``bash`` that exports no S3 variable,
except that ``make s3-up`` gets ``S3_ENDPOINT_URL`` with a free port, as a user whose port 9000 is
taken would run it. Everything after it must find that server through ``.dvc/config.local`` alone.
Then the dataset moves, ``paths.raw`` follows it, and only prepare may rerun.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distillery.remote.server import free_s3_port
from distillery.remote.settings import ENDPOINT_VARIABLES
from distillery.tasks import get_task
from tests.dvc_repo import REPO, DvcRepo

pytestmark = pytest.mark.slow

MARK = "<!-- own-data walkthrough"
SETUP_FILES = ("Makefile", "requirements.txt", "constraints.txt", "pyproject.toml")
CLASSES = ("stainless_bottle", "ceramic_mug", "wooden_spoon")  # names as long as real ones
MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")  # `make test` sets them: a user's shell has none


def walkthrough_lines() -> list[str]:
    after_mark = (REPO / "README.md").read_text(encoding="utf-8").split(MARK, 1)[1]
    block = after_mark.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def write_photos(root: Path, per_class: int = 24) -> None:
    """Class folders of distinct images whose colour says the class, so a model can learn them."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(CLASSES):
        for i in range(per_class):
            base = np.zeros((40, 48, 3)) + np.eye(3)[c] * 160 + 40
            pixels = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / name / f"IMG_{i:04d}.png")


class Shell:
    """Each command in a new ``bash`` of the copy, with no S3 setting in its environment."""

    def __init__(self, repo: DvcRepo, photos: Path) -> None:
        self.root = repo.root
        self.env = {k: v for k, v in repo.env.items()
                    if k not in (*ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", *MAKE_VARIABLES)}
        self.env |= {"PHOTOS": str(photos), "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{self.env['PATH']}"}

    def run(self, line: str, **extra_env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(["bash", "-c", line], cwd=self.root, env=self.env | extra_env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, f"`{line}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> DvcRepo:
    repo = DvcRepo.copy_of_this_repo(tmp_path_factory.mktemp("own-data") / "repo")
    for name in SETUP_FILES:
        shutil.copy2(REPO / name, repo.root / name)
    (repo.root / ".venv").symlink_to(Path(sys.prefix))
    tiny = {**get_task("classification").tiny_params, "model.pretrained": True, "distill.student.pretrained": True,
            "quantize.latency_runs": 5, "quantize.max_drop": 100.0, "quantize.calibration_size": 32}
    repo.set_params(**tiny)
    repo.commit("a copy with the tests' tiny model sizes")
    return repo


def test_the_readme_walkthrough_runs_as_written_and_a_moved_dataset_reruns_only_prepare(copy, tmp_path) -> None:
    photos = tmp_path / "photos"
    write_photos(photos)
    shell = Shell(copy, photos)
    lines = walkthrough_lines()
    assert lines[0].startswith("make s3-up") and any(line.startswith("dvc repro") for line in lines)
    port = free_s3_port()
    try:
        outputs = [shell.run(lines[0], S3_ENDPOINT_URL=f"http://127.0.0.1:{port}")]
        outputs += [shell.run(line) for line in lines[1:]]
        by_line = dict(zip(lines, outputs, strict=True))

        check = next(out.stdout for line, out in by_line.items() if line.startswith("make check"))
        assert f"ok    server       http://127.0.0.1:{port} accepts" in check and "FAIL" not in check
        assert "ok    teacher" in check and "ok    student" in check
        predicted = by_line[lines[-1]].stdout.strip().splitlines()
        assert len(predicted) == 5 and all(line.startswith(str(photos)) for line in predicted)
        assert (copy.root / "models" / "export" / "SHA256SUMS").is_file()
        assert "Data and pipelines are up to date" in shell.run("dvc status").stdout
        prepared = {p.name: p.read_bytes() for p in (copy.root / "data" / "prepared").iterdir()}

        moved = tmp_path / "elsewhere" / "photos"
        moved.parent.mkdir()
        photos.rename(moved)
        shell.run(f"python -m distillery.params set paths.raw={moved}")
        rerun = shell.run("dvc repro").stdout
        assert "Running stage 'prepare'" in rerun
        assert not any(f"Running stage '{stage}'" in rerun for stage in ("train", "distill", "quantize", "export"))
        assert {p.name: p.read_bytes() for p in (copy.root / "data" / "prepared").iterdir()} == prepared
        assert "Data and pipelines are up to date" in shell.run("dvc status").stdout
    finally:
        stopped = subprocess.run(["bash", "-c", "make s3-down"], cwd=copy.root, env=shell.env, capture_output=True,
                                 text=True, timeout=120)
    assert "stopped" in stopped.stdout.splitlines(), stopped.stdout + stopped.stderr
