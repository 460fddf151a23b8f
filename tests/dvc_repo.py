"""A throwaway copy of this repository's pipeline, to run real ``dvc`` commands against."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIPELINE_FILES = ("dvc.yaml", "params.yaml", ".dvcignore", ".gitignore", "data/.gitignore")
PIPELINE_DIRS = ("stages", "src/distillery", "examples")


class DvcRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(root / "src"),
            "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
        }

    @classmethod
    def copy_of_this_repo(cls, root: Path) -> DvcRepo:
        for rel in PIPELINE_FILES:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
        for rel in PIPELINE_DIRS:
            shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
        (root / ".dvc").mkdir()
        shutil.copy2(REPO / ".dvc" / "config", root / ".dvc" / "config")
        shutil.copy2(REPO / ".dvc" / ".gitignore", root / ".dvc" / ".gitignore")
        repo = cls(root)
        repo.run("git", "init", "-q")
        return repo

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=self.root, env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(Path(sys.executable).parent / "dvc"), *args, check=check)

    def set_params(self, **dotted: object) -> None:
        """Edit the copy's params.yaml: ``set_params(**{"train.lr": 0.1})``."""
        import yaml

        from distillery.config import set_dotted

        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        for key, value in dotted.items():
            set_dotted(params, key, value)
        path.write_text(yaml.safe_dump(params, sort_keys=False))

    def use_s3(self, settings) -> None:
        """Point the copy (its DVC remotes and its stages) at an S3 server."""
        from distillery.remote.dvc_config import configure_dvc

        configure_dvc(settings, self.root)
        self.env.update(settings.environment())

    def commit(self, message: str = "state") -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-q", "-m", message)
