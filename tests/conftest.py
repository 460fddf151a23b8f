"""Shared fixtures: the shipped params, tiny image datasets written on the fly."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from distillery import config

REPO = Path(__file__).resolve().parents[1]

# `make test` spreads the suite over the cores (pytest-xdist, --dist loadgroup): an idle worker takes the
# next group, in collection order. A group is a test file, so its module fixtures are built once; the files
# on the session's tiny pipelines form one group, so those are built once too. The longest groups go first
# (pytest prints the slowest tests), so that no worker is left alone with a long one at the end.
LONGEST_FIRST = ("tests/test_pipeline_train.py", "tiny_pipelines", "tests/test_determinism.py",
                 "tests/test_experiments.py", "tests/test_own_data.py")
SHARED_FIXTURES = ("tiny_pipelines",)


def test_file(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def xdist_group(items: list[pytest.Item]) -> dict[str, str]:
    """Each test file's group: the shared fixture it uses, else the file (as pytest names it)."""
    groups: dict[str, str] = {}
    for item in items:
        shared = next((name for name in SHARED_FIXTURES if name in item.fixturenames), None)
        if shared or test_file(item) not in groups:
            groups[test_file(item)] = shared or groups.get(test_file(item), test_file(item))
    return groups


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = xdist_group(items)
    slow_groups = {groups[test_file(item)] for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        group = groups[test_file(item)]
        return LONGEST_FIRST.index(group) if group in LONGEST_FIRST else len(LONGEST_FIRST) + (group not in slow_groups)

    order = {item: (rank(item), i) for i, item in enumerate(items)}
    items.sort(key=order.__getitem__)
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            item.add_marker(pytest.mark.xdist_group(groups[test_file(item)]))


@pytest.fixture(autouse=True, scope="session")
def _caches_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.mktemp("cache")
    for var in ("MPLCONFIGDIR", "TORCHINDUCTOR_CACHE_DIR", "KERAS_HOME"):
        os.environ[var] = str(cache / var.lower())
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    for var in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):  # never the developer's ~/.aws
        os.environ[var] = str(cache / "aws" / var.lower())
    os.environ.pop("AWS_PROFILE", None)
    os.environ["DO_NOT_TRACK"] = "1"


@pytest.fixture
def params() -> config.Params:
    return config.load(REPO / "params.yaml")


def write_png(path: Path, seed: int, size: tuple[int, int] = (24, 20)) -> Path:
    """A distinct random RGB PNG (``seed`` decides the pixels, so equal seeds = duplicates)."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def write_csv_dataset(root: Path, rows: list[tuple[str, str, str | None]]) -> Path:
    """Write ``manifest.csv`` with (path, labels, split) rows; split None = no split column."""
    root.mkdir(parents=True, exist_ok=True)
    with_split = any(split is not None for _, _, split in rows)
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels", "split"] if with_split else ["path", "labels"])
        for path, labels, split in rows:
            writer.writerow([path, labels, split] if with_split else [path, labels])
    return root


def multilabel_rows(root: Path, per_split: dict[str, int], labels: str = "abc") -> list:
    """Distinct images with 1-2 labels from ``labels``, in the given splits."""
    rows, seed = [], 0
    for split, count in per_split.items():
        for i in range(count):
            seed += 1
            rel = f"img/{split}_{i}.png"
            write_png(root / rel, seed)
            chosen = labels[i % len(labels)] + (f";{labels[(i + 1) % len(labels)]}" if i % 2 else "")
            rows.append((rel, chosen, split))
    return rows


def publish_resnet_weights(settings, prefix: str, sizes: tuple[str, ...], scratch: Path) -> None:
    """Seeded ``resnet/<size>`` weights (10 digit classes, 32 px) published under ``prefix`` in ``models``."""
    import torch

    from distillery.models.registry import create_model
    from distillery.remote.client import make_client
    from distillery.remote.publish import publish

    for size in sizes:
        torch.manual_seed(0)
        folder = scratch / f"weights-{size}"
        create_model("resnet", size, [str(d) for d in range(10)], 32, "single_label").save_pretrained(folder)
        publish(make_client(settings), settings, "models", prefix, folder, f"resnet/{size}",
                {"family": "resnet", "size": size, "source": "test"})


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """A real SeaweedFS S3 server on free ports, with its own random credentials."""
    from distillery.remote.server import LocalS3

    server = LocalS3.on_free_port(tmp_path_factory.mktemp("s3"))
    settings = server.start()
    yield settings
    server.stop()


@pytest.fixture
def s3(s3_server):
    from distillery.remote.client import make_client

    return make_client(s3_server)


@pytest.fixture
def hf_weights(tmp_path) -> Path:
    """A tiny Hugging Face-style weights folder (config.json + model.safetensors)."""
    import json

    import torch
    from safetensors.torch import save_file

    folder = tmp_path / "weights"
    folder.mkdir()
    save_file({"layer.weight": torch.randn(64, 32), "layer.bias": torch.zeros(64)}, folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps({"model_type": "resnet"}))
    return folder


@pytest.fixture(scope="session")
def tiny_pipelines(tmp_path_factory):
    """``build(task)``: a tiny pipeline of that task run through its stage entry points from prepare to
    quantize (no DVC), built once per session: for later stages' tests and the task contract test."""
    from distillery.tasks import get_task
    from tests.workdir import Workdir

    built = {}

    def build(task: str):
        if task not in built:
            work = Workdir(tmp_path_factory.mktemp(f"tiny-{task}"), {
                "quantize.latency_runs": 5, "quantize.max_drop": 100.0, "quantize.calibration_size": 64}, task)
            get_task(task).write_example_data(work.path("raw"), get_task(task).tiny_images, 7)
            for stage in ("prepare", "train", "distill", "quantize"):
                work.stage(stage)
            built[task] = work
        return built[task]

    return build


@pytest.fixture(scope="session")
def tiny_quantized(tiny_pipelines):
    return tiny_pipelines("classification")
