"""What every bundle's predict.py does before it runs a model: check the files, read the config, load modules.

Shipped in every bundle beside predict.py; needs only the standard library.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SUMS_FILE = "SHA256SUMS"


class BundleError(Exception):
    """The bundle folder is incomplete, damaged or from an incompatible version."""


def verify_checksums(folder: Path) -> None:
    """Every file listed in SHA256SUMS exists with that sha256 (``sha256sum -c`` does the same)."""
    sums = folder / SUMS_FILE
    if not sums.is_file():
        raise BundleError(f"{sums}: missing; this is not a complete bundle (re-export it)")
    for line in sums.read_text(encoding="utf-8").splitlines():
        expected, _, name = line.partition("  ")
        path = folder / name
        if "/" in name or not path.is_file():
            raise BundleError(f"{path}: listed in {SUMS_FILE} but missing; re-export or re-download the bundle")
        if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise BundleError(f"{path}: its sha256 differs from {SUMS_FILE}: the file is damaged or was changed; "
                              "re-export or re-download the bundle")


def load_bundle_module(folder: Path, name: str) -> ModuleType:
    """``<folder>/<name>.py`` as a module (registered first: dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(f"bundle_{name}_{abs(hash(folder.resolve()))}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def read_config(folder: Path, required: tuple[str, ...]) -> dict[str, Any]:
    path = folder / "inference_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    missing = [key for key in required if key not in config]
    if missing:
        raise BundleError(f"{path}: missing key(s) {', '.join(missing)}; the bundle comes from another version "
                          "of distillery (re-export it)")
    return config
