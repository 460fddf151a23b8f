"""The export bundle's own predict.py, loaded from the bundle folder as an app loads it (export's parity check)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_predict_module(bundle: Path) -> ModuleType:
    """``<bundle>/predict.py`` as a module (registered first: dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location("bundle_predict", bundle / "predict.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
