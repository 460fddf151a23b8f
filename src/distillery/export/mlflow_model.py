"""The exported bundle as an MLflow pyfunc model ("models from code": MLflow copies this file).

It needs nothing of distillery: it loads the bundle's own ``predict.py`` (which verifies the
bundle's checksums first) and answers with what an app gets from it. Input: image file paths
(a list, or a DataFrame whose first column holds them). Output: one row per image with the
decided labels and the score of every label.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import mlflow.pyfunc
from mlflow.models import set_model


class BundleModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        folder = Path(context.artifacts["bundle"])
        spec = importlib.util.spec_from_file_location("distillery_bundle_predict", folder / "predict.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        self.bundle = module.Bundle(folder)

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        paths = list(model_input.iloc[:, 0]) if hasattr(model_input, "iloc") else list(model_input)
        rows = []
        for path in paths:
            labels, scores = self.bundle.predict(path)
            rows.append({"path": str(path), "labels": labels,
                         "scores": dict(zip(self.bundle.labels, map(float, scores), strict=True))})
        return rows


set_model(BundleModel())
