"""Demo pretrained weights for restoration: denoising learnt on photos the demo never uses.

``python -m distillery.demo_weights`` calls ``pretrain`` for a restoration family: it writes
``photos.PRETRAINING_SPLITS`` (grey photos and textures, tinted, plus the retina and the colour
wheel) in the clean layout, degrades them as the running pipeline's params.yaml says (the demo's:
Gaussian sigma 25; the rest of the recipe is fixed here), and trains the network from scratch
through the train stage's own code (prepare, ``train_teacher``) in a temporary folder. The result
is the teacher folder that stage writes (config.json + model.safetensors), ready to publish.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from distillery import config
from distillery.tasks import get_task
from distillery.tasks.restoration.photos import PRETRAINING_SPLITS, write_photos
from distillery.tracking import Tracker
from distillery.train.teacher import train_teacher

log = logging.getLogger(__name__)
BATCH, CROP = 8, 64  # the demo's fine-tuning batch and crop


def pretrain(family: str, size: str, epochs: int, lr: float, seed: int, threads: int, out: Path) -> dict[str, Any]:
    """Train ``family/size`` from scratch on the pretraining photos; its folder to ``out``; return its info."""
    with tempfile.TemporaryDirectory(prefix="demo-denoiser-") as tmp:
        work = Path(tmp)
        params = config.load(overrides={
            "task": "restoration", "seed": seed, "paths.raw": str(work / "raw"),
            "paths.prepared": str(work / "prepared"), "paths.teacher": str(work / "teacher"),
            "paths.checkpoints": str(work / "checkpoints"), "model.family": family, "model.size": size,
            "model.pretrained": False, "model.input_mean": [0.0] * 3, "model.input_std": [255.0] * 3,
            "train.epochs": epochs, "train.head_epochs": 0, "train.warmup_epochs": 0.0, "train.lr": lr,
            "train.batch_size": BATCH, "train.weight_decay": 0.0, "train.loss": "l1", "train.patience": epochs,
            "train.lora.enabled": False, "train.threads": threads, "train.processes": 1,
            "train.precision": "fp32", "restoration.data.layout": "clean", "restoration.data.crop_size": CROP})
        write_photos(params.paths.raw, PRETRAINING_SPLITS)
        task = get_task("restoration")
        task.prepare(params.restoration, params.paths.raw, params.paths.prepared, seed)
        result = train_teacher(task, params, Tracker.disabled(), threads)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(params.paths.teacher, out)
    psnr = result.fit.val_metrics["psnr"]
    degradation = params.restoration.data.degradation
    log.info("pretrained %s/%s in %.0f s: val PSNR %.2f dB", family, size, result.fit.seconds, psnr)
    return {
        "family": family, "size": size,
        "source": "distillery demo pretraining: denoising (Gaussian sigma "
                  f"{degradation.noise_sigma:g}/255) of scikit-image photos the restoration demo never uses: "
                  f"train {', '.join(PRETRAINING_SPLITS['train'])}; val {', '.join(PRETRAINING_SPLITS['val'])}",
        "description": f"Demo {family}/{size} denoiser trained from scratch for {epochs} epochs of random "
                       f"{params.restoration.data.crop_size} px crops (val PSNR {psnr:.2f} dB, tiled, on "
                       f"{', '.join(PRETRAINING_SPLITS['val'])}).",
        "pretraining": {"epochs": epochs, "lr": lr, "seed": seed, "val_psnr": psnr},
    }
