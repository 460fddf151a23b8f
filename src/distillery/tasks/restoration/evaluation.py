"""Restoration's evaluation: the int8 models on whole test images, beside the classical denoisers.

Restoration has no decision rule, so nothing is tuned on val: val is scored for the record, test
once. Every int8 model restores each test image at native resolution through the blended tiles the
bundle uses; the degraded input itself and the classical denoisers a user would otherwise pick
(``baselines``) are scored on the same images, the latter with their wall time per image (a run
detail: it goes to the unversioned record, not to the metrics). Plots: per-image PSNR of every
method (CSV, a DVC plot) and the first test image's centre, degraded / restored / clean (PNG).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from distillery import atomic
from distillery.tasks.base import Evaluation
from distillery.tasks.restoration.baselines import available, noise_sigma, run_denoiser
from distillery.tasks.restoration.dataset import RestorationDataset
from distillery.tasks.restoration.metrics import score_images
from distillery.tasks.restoration.scoring import clean_images, side_by_side
from distillery.tracking import write_csv

log = logging.getLogger(__name__)

DEGRADED = "degraded_input"
INT8 = ("tflite", "onnx")  # the bundle's models; ``test`` also holds the fp32 teacher's and student's outputs


def known_sigma(data: RestorationDataset) -> float | None:
    """The noise sigma prepare applied (clean-only layout), else None: the denoisers estimate it."""
    return data.store.meta.get("noise_sigma")


def run_peers(data: RestorationDataset) -> tuple[dict[str, list[np.ndarray]], dict[str, float]]:
    """Each classical denoiser's restored test images, and its median seconds per image.

    One image at a time: two photos side by side took BM3D 25 s each here against 15 s one at a
    time, so a process per core saved nothing and misreported its speed.
    """
    degraded = [data.store.degraded(image) for image in data.tiled("test").images]
    restored: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    for name, denoiser in available().items():
        runs = [run_denoiser(denoiser, image, noise_sigma(image, known_sigma(data)))
                for image in tqdm(degraded, desc=f"test images ({name})", unit="img", leave=False)]
        restored[name] = [run.image for run in runs]
        seconds[name] = round(float(np.median([run.seconds for run in runs])), 3)
        log.info("%s: %.2f s per test image", name, seconds[name])
    return restored, seconds


def evaluate(val: tuple[np.ndarray, np.ndarray], test: dict[str, np.ndarray], data: RestorationDataset,
             plots: Path) -> Evaluation:
    """``val``: the TFLite int8 tiles of val; ``test``: the test tiles of each int8 backend (tflite, onnx) and
    of the fp32 teacher and student (``teacher_fp32``, ``student_fp32``)."""
    images = data.tiled("test").images
    names, clean = [image.name for image in images], clean_images(data, "test")
    restored = {backend: data.restored_images("test", outputs) for backend, outputs in test.items()}
    restored[DEGRADED] = [data.store.degraded(image) for image in images]
    peers, peer_seconds = run_peers(data)
    restored.update(peers)
    scored = {method: score_images(outputs, clean, names) for method, outputs in restored.items()}
    val_images = data.tiled("val").images
    val_clean, val_names = clean_images(data, "val"), [image.name for image in val_images]
    val_scored = {"tflite": score_images(data.restored_images("val", val[0]), val_clean, val_names),
                  DEGRADED: score_images([data.store.degraded(image) for image in val_images], val_clean, val_names)}
    best_peer = max(peers, key=lambda name: scored[name]["psnr"])
    report: dict[str, Any] = {
        "test": {method: {"psnr": s["psnr"], "ssim": s["ssim"]} for method, s in scored.items()},
        "val": {method: {"psnr": s["psnr"], "ssim": s["ssim"]} for method, s in val_scored.items()},
        "test_images": len(images),
        "gain_over_input_db": round(scored["tflite"]["psnr"] - scored[DEGRADED]["psnr"], 4),
        "best_peer": best_peer,
        "ahead_of_best_peer_db": round(scored["tflite"]["psnr"] - scored[best_peer]["psnr"], 4),
        "per_image": {method: s["per_image"] for method, s in scored.items()},
        "peers": {name: {"seconds": peer_seconds[name]} for name in peers},
    }
    write_plots(plots, scored, names, restored, clean)
    decisions = {backend: np.concatenate([image.ravel() for image in restored[backend]]) for backend in INT8}
    headline = (f"test PSNR: int8 TFLite {scored['tflite']['psnr']:.2f} dB, ONNX {scored['onnx']['psnr']:.2f} dB, "
                f"degraded input {scored[DEGRADED]['psnr']:.2f} dB, best classical ({best_peer}) "
                f"{scored[best_peer]['psnr']:.2f} dB")
    return Evaluation(report=report, rule={}, test_decisions=decisions, record_only=("per_image",),
                      headline=headline)


def write_plots(plots: Path, scored: dict[str, dict[str, Any]], names: list[str],
                restored: dict[str, list[np.ndarray]], clean: list[np.ndarray]) -> None:
    plots.mkdir(parents=True, exist_ok=True)
    rows = [{"label": f"{name} / {method}", "image": name, "method": method, "psnr": s["per_image"][name]["psnr"]}
            for method, s in scored.items() for name in names]
    write_csv(plots / "per_image_psnr.csv", rows)
    strip = side_by_side([restored[DEGRADED][0], restored["tflite"][0], clean[0]])
    with atomic.atomic_path(plots / "sample_degraded_restored_clean.png") as tmp:
        Image.fromarray(strip).save(tmp, format="PNG")
