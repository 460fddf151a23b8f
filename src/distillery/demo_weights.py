"""Demo pretrained weights, made honestly: single-digit classification on train-split scans only.

The demo task is multi-label (which digits appear). Its "pretrained" checkpoints come from a
different, easier source task: classify one digit per 32x32 image (10 classes, single-label),
half of them drawn white-or-black on a plain grey background, half in the demo's noisy coloured
style, rendered only from the scans the demo assigns to its *train* split, so nothing of the
demo's val/test scans is ever seen. The digits are drawn 18-32 px tall, as in the demo's 64x64
images, so the convolutions learn strokes at the scale they will meet, at a quarter of the
compute of 64x64 renders (measured: base 0.90 val accuracy in 52 s at 32 px vs 0.89 in 160 s
at 64 px). On noisy coloured renders alone a network from scratch sits on a loss plateau for
hundreds of steps; clean ones get it off the plateau in ~100 steps, and the noisy half teaches
colour and noise invariance. The result is an ordinary Hugging Face folder (config.json + model.safetensors) that
``make demo`` publishes to the bucket; its info.json says how it was made.

The restoration demo's NAFNet weights are denoisers trained on scikit-image photos that demo never
uses (``demo_denoisers.py``).

``python -m distillery.demo_weights`` pretrains and publishes what params.yaml's teacher
(``model.*``) and student (``distill.student.*``) need and the bucket lacks (the running pipeline's
params.yaml: ``DISTILLERY_PIPELINE=demos/restoration`` for that demo); ``--sizes`` names sizes of
``--family`` (resnet by default) in ``RECIPES`` instead (``make demo`` publishes every size a demo
experiment uses), ``--force`` republishes. Other families have no demo weights: publish your own.
"""

from __future__ import annotations

import argparse
import functools
import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from distillery import atomic, config
from distillery.config import AugmentConfig, machine_cores
from distillery.data.batches import Normalizer
from distillery.data.demo import DemoSpec, load_scans, render_image, split_scans
from distillery.data.prepared import PreparedSplit
from distillery.errors import DistilleryError
from distillery.models.inference import logits_of
from distillery.models.registry import create_model
from distillery.runtime import configure_torch
from distillery.tasks.classification.augment import Augmenter
from distillery.tasks.classification.losses import classification_loss
from distillery.tasks.classification.metrics import PRIMARY_METRIC, classification_metrics, probabilities
from distillery.train.loop import FitSettings, Scorer, Trainer

log = logging.getLogger(__name__)

DIGITS = [str(d) for d in range(10)]
NO_AUGMENT = AugmentConfig(hflip=0.0, rotate_deg=0.0, scale=0.0, color_jitter=0.0, noise=0.0, cutout=0.0)


@dataclass(frozen=True)
class Recipe:
    """How a size is pretrained: fixed, so the weights do not depend on the machine or on params.yaml."""

    epochs: int
    lr: float
    threads: int = 1  # torch threads; sizes pretrain side by side, one process per core (pretrained_side_by_side)


PRETRAIN_PIXELS = 32

# Single-digit val accuracy measured at 32 px (one thread each, side by side on 2 cores, fp32): base 0.917
# in 76 s; the narrower small and quarter need a higher learning rate to leave the loss plateau (small: 0.925
# at 6e-3 after 4 epochs, 25 s; quarter: 0.978 at 6e-3 after 10, 46 s; two threads each, in turn, gave
# 0.902 / 0.901 / 0.972 in 52 + 21 + 45 s; at lr 1e-3 small reached 0.805 after 5 epochs, quarter at 64 px
# 0.15 after 4). tiny is the tests' size: 3 epochs keep it to ~25 s here (10 at lr 0.01: 0.955 in 56 s).
# NAFNet: epochs of 560 random 64 px crops (the pretraining photos' area) at sigma 25, from scratch;
# measured on 2 cores: w32 3 epochs 72 s, val PSNR 27.84 dB; w16 3 epochs 31 s, 26.54 dB.
RECIPES = {("resnet", "base"): Recipe(5, 0.001), ("resnet", "small"): Recipe(4, 0.006),
           ("resnet", "quarter"): Recipe(10, 0.006), ("resnet", "tiny"): Recipe(3, 0.01),
           ("nafnet", "w8"): Recipe(3, 0.002, 2), ("nafnet", "w16"): Recipe(5, 0.002, 2),
           ("nafnet", "w32"): Recipe(3, 0.002, 2)}
DEFAULT_FAMILY = "resnet"
Size = tuple[str, str]  # (family, size)


@functools.cache  # every size pretrains on the same renders: draw them once per process
def single_digit_split(name: str, count: int, seed: int, spec: DemoSpec) -> PreparedSplit:
    """``count`` one-digit images from the demo's train-split scans only; every other one clean."""
    scans, targets = load_scans()
    pool = split_scans(targets, spec.seed)["train"]
    rng = np.random.default_rng([seed, 1 if name == "train" else 2])
    styles = (replace(spec, clean=True), replace(spec, clean=False))
    images = np.empty((count, spec.size, spec.size, 3), dtype=np.uint8)
    labels = np.zeros((count, 10), dtype=np.uint8)
    for i in range(count):
        images[i], digits = render_image(rng, scans, targets, pool, styles[i % 2], 1)
        labels[i, int(digits[0])] = 1
    return PreparedSplit(name, images, labels)


def pretrain_digits(family: str, size: str, recipe: Recipe, count: int, seed: int, threads: int, out: Path) -> dict:
    configure_torch(threads, seed)
    spec = DemoSpec(size=PRETRAIN_PIXELS)
    train = single_digit_split("train", count, seed, spec)
    val = single_digit_split("val", max(500, count // 10), seed, spec)
    model = create_model(family, size, DIGITS, spec.size, task="single_label")
    loss = classification_loss("cross_entropy")
    params = config.load()
    epochs = recipe.epochs
    settings = FitSettings(epochs=epochs, head_epochs=0, batch_size=64, lr=recipe.lr, weight_decay=0.05,
                           schedule="cosine", warmup_epochs=0.1, unfreeze="all", unfreeze_fraction=1.0,
                           backbone_lr_factor=1.0, patience=epochs, precision="fp32", seed=seed)
    scorer = Scorer(forward=logits_of, loss=loss, primary=PRIMARY_METRIC, metrics=lambda outputs, targets: (
        classification_metrics(probabilities(outputs, "single_label"), targets, "single_label")))
    trainer = Trainer(model, family, settings, objective=lambda m, x, y: loss(logits_of(m, x), y), scorer=scorer,
                      normalizer=Normalizer(params.model.input_mean, params.model.input_std),
                      augmenter=Augmenter(NO_AUGMENT, 0))
    result = trainer.fit(train, val)
    log.info("pretrained %s/%s in %.0f s: val accuracy %.3f", family, size, result.seconds,
             result.val_metrics["accuracy"])
    with atomic.atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
    info = {
        "family": family, "size": size,
        "source": f"distillery demo pretraining: single-digit classification (10 classes) on "
                  f"{spec.size}x{spec.size} renders (half clean, half in the demo's noisy style) of the sklearn "
                  "digit scans of the demo's TRAIN split only (no val/test scan seen)",
        "description": f"Demo {family}/{size} backbone pretrained for {epochs} epochs on {count} single-digit "
                       f"images (val accuracy {result.val_metrics['accuracy']:.3f} on {len(val)} held-out "
                       "train-scan renders).",
        "pretraining": {"epochs": epochs, "lr": recipe.lr, "images": count, "seed": seed,
                        "val_accuracy": result.val_metrics["accuracy"]},  # no timing: same weights, same info
    }
    return info


def wanted_by_params(params: config.Params) -> list[tuple[str, str]]:
    """(family, size) of the teacher and the student, in that order, once each."""
    pairs = [(params.model.family, params.model.size), (params.distill.student.family, params.distill.student.size)]
    return list(dict.fromkeys(pairs))


def pretrain(family: str, size: str, recipe: Recipe, count: int, seed: int, threads: int, out: Path) -> dict:
    """The family's demo pretraining: digits for resnet, denoising for nafnet."""
    if family == "nafnet":
        from distillery.demo_denoisers import pretrain as pretrain_denoiser

        return pretrain_denoiser(family, size, recipe.epochs, recipe.lr, seed, threads, out)
    return pretrain_digits(family, size, recipe, count, seed, threads, out)


def no_recipe(family: str, size: str) -> DistilleryError:
    return DistilleryError(
        f"{family}/{size} is not published and has no demo weights (only "
        f"{', '.join(f'{f}/{s}' for f, s in RECIPES)}): publish yours with `python -m distillery.remote publish "
        "PATH --name "
        f"{family}/{size}` (README 'Bring your own pretrained weights'), or pick a size with demo weights")


def refuse_a_shared_server(settings) -> None:
    """Demo weights belong on this machine's server; a team's MinIO gets them only when asked."""
    from distillery.remote.settings import is_local

    if not is_local(settings.endpoint_url) and os.environ.get("PUBLISH_DEMO") != "1":
        raise DistilleryError(f"refusing to publish demo weights to {settings.endpoint_url} ({settings.origin}), "
                              "which is not this machine: `PUBLISH_DEMO=1 make demo` (or PUBLISH_DEMO=1 python -m "
                              "distillery.demo_weights) to publish them there anyway")


def publish_missing(wanted: list[tuple[str, str]], images: int, force: bool) -> None:
    from distillery.remote import settings as s3settings
    from distillery.remote.client import explained, make_client
    from distillery.remote.publish import is_published, publish

    params = config.load()
    settings = s3settings.resolve()
    s3 = make_client(settings)
    bucket, prefix = params.remote.bucket, params.remote.prefix
    missing = []
    for family, size in wanted:
        name = f"{family}/{size}"
        with explained(settings, f"s3://{bucket}/{prefix}/{name}/"):
            if not force and is_published(s3, bucket, prefix, name):
                log.info("%s already published; skipping", name)
                continue
        if (family, size) not in RECIPES:
            raise no_recipe(family, size)
        missing.append((family, size))
    if missing:
        refuse_a_shared_server(settings)
    folder = params.paths.cache.parent / "demo_weights"
    for (family, size), info in pretrained_side_by_side(missing, images, folder):
        name = f"{family}/{size}"
        publish(s3, settings, bucket, prefix, folder / f"{family}-{size}", name, info)
        log.info("published %s: %s", name, info["description"])


def pretrain_one(family: str, size: str, images: int, folder: Path) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # in a worker process too
    recipe = RECIPES[(family, size)]
    log.info("pretraining demo weights %s/%s (%d epochs at lr %g, %d thread(s)) ...", family, size, recipe.epochs,
             recipe.lr, recipe.threads)
    return pretrain(family, size, recipe, images, seed=0, threads=recipe.threads, out=folder / f"{family}-{size}")


def pretrained_side_by_side(wanted: list[Size], images: int, folder: Path) -> Iterator[tuple[Size, dict]]:
    """Pretrain ``wanted`` in parallel processes, as many at once as the cores hold, in order. These small
    models train only 1.4-1.7x faster on two threads than on one (measured at 32 px), so two side by side,
    a thread each, finish sooner than two in turn. Yields each (family, size) and its info as it finishes."""
    workers = min(len(wanted), max(1, machine_cores() // max(RECIPES[w].threads for w in wanted)))
    if workers == 1:
        yield from ((w, pretrain_one(*w, images, folder)) for w in wanted)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(pretrain_one, *w, images, folder): w for w in wanted}
        for done in as_completed(running):
            yield running[done], done.result()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", default=DEFAULT_FAMILY, choices=sorted({f for f, _ in RECIPES}))
    parser.add_argument("--sizes", nargs="+",
                        help="sizes of --family to publish (default: the teacher's and student's of params.yaml)")
    parser.add_argument("--images", type=int, default=9600, help="digit renders (resnet)")
    parser.add_argument("--force", action="store_true", help="pretrain and publish even when present")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        wanted = [(args.family, size) for size in args.sizes] if args.sizes else wanted_by_params(config.load())
        publish_missing(wanted, args.images, args.force)
    except DistilleryError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
