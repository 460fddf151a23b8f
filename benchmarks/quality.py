"""Quality over seeds: the demo's numbers as mean and spread over n runs, and where distillation pays.

``make quality`` (about an hour on 2 cores: a benchmark, not a test). Every run goes through the
stages' own entry points in a sandbox under ``.cache/quality/`` (``distillery.sandbox``), on the
demo's data and the demo weights in the local bucket. ``seed`` moves data order, augmentation and
initialisation; the demo's split comes from its folders, so prepare and pull run once and every
seed sees the same images. Per seed:

- the demo as ``params.yaml`` has it: train, distill, quantize, evaluate. Teacher and student are also
  scored in fp32 on test at the 0.5 threshold;
- KD against labels alone (``distill.alpha: 1``, same student, epochs and learning rate) in the demo's
  setting and where the literature expects KD to pay: a much smaller student (``resnet/tiny``), a
  student without pretraining, and few labelled images (800 instead of 8,000; teacher trained on them).

Writes ``benchmarks/quality.json`` and ``quality.md``: per number the mean, sample standard deviation,
min, max and n, each seed's value, the machine and the versions. ``--seeds 1 2 3`` picks the seeds,
``--only demo`` skips the KD table, ``--kd-seeds 3`` runs the other settings than the demo's on the
first three seeds only; ``--resume`` keeps runs already finished under ``.cache/quality/``.
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import common
from distillery import atomic
from distillery.data.batches import Normalizer
from distillery.data.demo import DemoSpec, write_multilabel
from distillery.models.checkpoint import load_model_dir
from distillery.models.inference import predict_outputs
from distillery.remote.settings import DVC_LOCAL_CONFIG, LOCAL_STATE_DIR, S3Settings, resolve
from distillery.sandbox import REPO, Sandbox
from distillery.stage import configure_environment
from distillery.tasks import get_task

HERE = Path(__file__).parent
WORK = REPO / ".cache" / "quality"
SEEDS = (1, 2, 3, 4, 5)
FEW_LABELS = 800
UNTRACKED = {"tracking.enabled": False}
T_CRITICAL_95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}  # two-sided, by dof


@dataclass(frozen=True)
class Setting:
    """A KD-vs-labels-only comparison: its student, and whether it trains on the few-labels data."""

    title: str
    student: dict[str, Any] = field(default_factory=dict)
    few_labels: bool = False


SETTINGS = {
    "demo": Setting("the demo: resnet/quarter student (0.16x), pretrained"),
    "tiny_student": Setting("much smaller student: resnet/tiny (0.02x), pretrained",
                            {"distill.student.size": "tiny"}),
    "student_from_scratch": Setting("student without pretraining: resnet/quarter from scratch",
                                    {"distill.student.pretrained": False}),
    "few_labels": Setting(f"few labels: {FEW_LABELS} training images (teacher trained on them too)", few_labels=True),
}
log = logging.getLogger("quality")


def summary(values: list[float]) -> dict[str, Any]:
    return {"mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": round(min(values), 4), "max": round(max(values), 4), "n": len(values),
            "values": [round(v, 4) for v in values]}


def paired_verdict(gains: list[float]) -> str:
    """'gain' / 'loss' when a paired t-test over the seeds puts the mean beyond zero at 5%, else 'no difference'."""
    if len(gains) < 2:
        return "n too small"
    sd = statistics.stdev(gains)
    t_critical = T_CRITICAL_95.get(len(gains) - 1, 1.96)
    mean = statistics.fmean(gains)
    if sd == 0 or abs(mean) <= t_critical * sd / math.sqrt(len(gains)):
        return "no difference"
    return "gain" if mean > 0 else "loss"


class Runs:
    """The sandboxes of one benchmark, under ``WORK``; a finished one is kept with ``resume``."""

    def __init__(self, settings: S3Settings, resume: bool) -> None:
        self.settings, self.resume = settings, resume

    def sandbox(self, name: str, overrides: dict[str, Any]) -> Sandbox:
        folder = WORK / name
        if folder.exists() and not self.resume:
            shutil.rmtree(folder)
        box = Sandbox(folder, {**UNTRACKED, **overrides})
        box.use_s3(self.settings)
        return box

    def run(self, box: Sandbox, stages: tuple[str, ...]) -> Sandbox:
        for stage in stages:
            if self.resume and (box.path("metrics") / f"{stage}.json").is_file():
                continue
            started = time.perf_counter()
            box.stage(stage)
            log.info("%s: %s in %.0f s", box.root.relative_to(WORK), stage, time.perf_counter() - started)
        return box


def fp32_test_score(model_dir: Path, prepared: Path) -> float:
    """Macro-F1 on test of an fp32 model folder, at the 0.5 threshold."""
    task = get_task("classification")
    data = task.open_data(prepared)
    model, meta = load_model_dir(model_dir)
    test = data.split("test")
    outputs = predict_outputs(model, test, Normalizer(meta.input_mean, meta.input_std), task.forward)
    return float(task.score(outputs, np.asarray(test.labels), data, "test")[task.primary_metric])


def kd_pair(runs: Runs, name: str, teacher: Sandbox, inputs: dict[str, str], student: dict[str, Any],
            distilled: Sandbox | None = None) -> dict:
    """The same student distilled from ``teacher`` (the params' alpha; ``distilled`` if already run) and
    trained on the labels alone (alpha 1)."""
    common_overrides = {**inputs, **student, "seed": teacher.params.seed, "paths.teacher": str(teacher.path("teacher"))}
    boxes = {"kd": distilled or runs.run(runs.sandbox(f"{name}/kd", common_overrides), ("distill",)),
             "labels_only": runs.run(runs.sandbox(f"{name}/labels_only", {**common_overrides, "distill.alpha": 1.0}),
                                     ("distill",))}
    return {variant: {"val": box.metrics("distill")["student"]["val"]["macro_f1"],
                      "test": fp32_test_score(box.path("student"), Path(inputs["paths.prepared"]))}
            for variant, box in boxes.items()}


def demo_run(runs: Runs, seed: int, inputs: dict[str, str]) -> tuple[Sandbox, dict[str, float]]:
    """The demo's stages for one seed; the numbers the README quotes."""
    box = runs.run(runs.sandbox(f"seed-{seed}/demo", {**inputs, "seed": seed}),
                   ("train", "distill", "quantize", "evaluate"))
    train, distill = box.metrics("train")["teacher"], box.metrics("distill")["student"]
    int8, bundle = box.metrics("quantize")["int8"], box.metrics("evaluate")["bundle"]
    prepared = Path(inputs["paths.prepared"])
    return box, {
        "teacher.val.macro_f1": train["val"]["macro_f1"],
        "teacher.test.macro_f1": fp32_test_score(box.path("teacher"), prepared),
        "student.val.macro_f1": distill["val"]["macro_f1"],
        "student.test.macro_f1": fp32_test_score(box.path("student"), prepared),
        "student.kept_of_teacher.val": distill["macro_f1_kept"],
        "int8.tflite.val_drop_points": int8["tflite"]["metric_drop"],
        "int8.onnx.val_drop_points": int8["onnx"]["metric_drop"],
        "int8.tflite.test.flat.macro_f1": bundle["test"]["flat"]["macro_f1"],
        "int8.tflite.test.tuned.macro_f1": bundle["test"]["tuned"]["macro_f1"],
        "thresholds.test_gain_points": bundle["test_gain_points"],
    }


def setting_inputs(runs: Runs) -> dict[str, dict[str, str]]:
    """Prepared data and pulled weights of each setting, shared by every seed: the demo's, the demo's with
    ``resnet/tiny`` student weights, and the demo's val and test with the first ``FEW_LABELS`` of its
    training images (the same renders)."""
    raw = REPO / "data" / "raw"
    base = runs.run(runs.sandbox("base", {"paths.raw": str(raw)}), ("prepare", "pull_pretrained"))
    demo = {"paths.prepared": str(base.path("prepared")), "paths.pretrained": str(base.path("pretrained"))}
    tiny = runs.run(runs.sandbox("base-tiny", {"paths.prepared": demo["paths.prepared"],  # its own weights folder
                                              **SETTINGS["tiny_student"].student}), ("pull_pretrained",))
    few_raw = WORK / "few-labels-raw"
    if not (few_raw / "manifest.csv").is_file():
        write_multilabel(few_raw, DemoSpec(counts=(FEW_LABELS, *DemoSpec().counts[1:])))
    few = runs.run(runs.sandbox("base-few-labels", {"paths.raw": str(few_raw)}), ("prepare",))
    return {"demo": demo, "tiny_student": {**demo, "paths.pretrained": str(tiny.path("pretrained"))},
            "student_from_scratch": demo, "few_labels": {**demo, "paths.prepared": str(few.path("prepared"))}}


def seed_numbers(runs: Runs, seed: int, inputs: dict[str, dict[str, str]], settings: list[str]) -> tuple[dict, dict]:
    """One seed: the demo's numbers, and the KD-vs-labels-only scores of each of ``settings``."""
    box, numbers = demo_run(runs, seed, inputs["demo"])
    pairs = {}
    for name, setting in ((name, SETTINGS[name]) for name in settings):
        teacher = box
        if setting.few_labels:
            teacher = runs.run(runs.sandbox(f"seed-{seed}/few-labels-teacher", {**inputs[name], "seed": seed}),
                               ("train",))
        pairs[name] = kd_pair(runs, f"seed-{seed}/kd-{name}", teacher, inputs[name], setting.student,
                              distilled=box if name == "demo" else None)
    return numbers, pairs


def results_of(demo: dict[str, list[float]], kd: dict[str, list[dict]]) -> dict[str, Any]:
    return {"demo": {key: summary(values) for key, values in demo.items()},
            "kd": {name: kd_table_row(name, pairs) for name, pairs in kd.items() if pairs}}


def kd_table_row(name: str, pairs: list[dict]) -> dict[str, Any]:
    row: dict[str, Any] = {"setting": SETTINGS[name].title}
    for split in ("val", "test"):
        kd = [100 * p["kd"][split] for p in pairs]
        plain = [100 * p["labels_only"][split] for p in pairs]
        gains = [a - b for a, b in zip(kd, plain, strict=True)]
        row[split] = {"kd": summary(kd), "labels_only": summary(plain), "gain_points": summary(gains),
                      "kd_wins": sum(g > 0 for g in gains), "verdict": paired_verdict(gains)}
    return row


def spread(s: dict[str, Any], scale: float = 1.0, digits: int = 4) -> str:
    sd = "-" if s["sd"] is None else f"{scale * s['sd']:.{digits}f}"
    return (f"{scale * s['mean']:.{digits}f} ± {sd} (min {scale * s['min']:.{digits}f}, "
            f"max {scale * s['max']:.{digits}f}, n={s['n']})")


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Quality over seeds", "", "| number | mean ± sd (min, max, n) |", "|---|---|"]
    lines += [f"| {key} | {spread(s)} |" for key, s in results["demo"].items()]
    if results.get("kd"):
        lines += ["", "## KD against labels alone (macro-F1 points, fp32; gain = KD - labels-only, paired by seed)",
                  "", "| setting | split | KD | labels only | gain | KD wins | paired t-test (5%) |",
                  "|---|---|---|---|---|---|---|"]
        for row in results["kd"].values():
            for split in ("val", "test"):
                r = row[split]
                lines.append(f"| {row['setting']} | {split} | {spread(r['kd'], digits=2)} | "
                             f"{spread(r['labels_only'], digits=2)} | {spread(r['gain_points'], digits=2)} | "
                             f"{r['kd_wins']}/{r['gain_points']['n']} | {r['verdict']} |")
    m = results["machine"]
    lines += ["", f"Seeds {results['seeds']}. Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
              f"torch {m['versions']['torch']}; measured {results['date']} in {results['minutes']} minutes."]
    return "\n".join(lines) + "\n"


def write_results(results: dict[str, Any]) -> None:
    atomic.write_json(HERE / "quality.json", results)
    atomic.write_text(HERE / "quality.md", markdown(results))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--only", choices=("demo",), help="the demo's numbers alone, without the KD table")
    parser.add_argument("--kd-seeds", type=int, metavar="K",
                        help="the KD settings other than the demo's on the first K seeds only (half the time)")
    parser.add_argument("--resume", action="store_true", help="keep runs already finished under .cache/quality")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    configure_environment()
    if not (REPO / "data" / "raw" / "manifest.csv").is_file():
        raise SystemExit("error: data/raw is missing: run `make data` (make quality does)")
    started = time.perf_counter()
    runs = Runs(resolve(REPO / LOCAL_STATE_DIR, REPO / DVC_LOCAL_CONFIG), args.resume)  # stages run elsewhere
    inputs = setting_inputs(runs)
    demo: dict[str, list[float]] = {}
    kd: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for done, seed in enumerate(args.seeds, 1):
        settings = [] if args.only else [name for name in SETTINGS
                                         if name == "demo" or args.kd_seeds is None or done <= args.kd_seeds]
        numbers, pairs = seed_numbers(runs, seed, inputs, settings)
        for key, value in numbers.items():
            demo.setdefault(key, []).append(value)
        for name, pair in pairs.items():
            kd[name].append(pair)
        write_results({**results_of(demo, kd), "seeds": args.seeds[:done], "machine": common.machine(),
                       "date": time.strftime("%Y-%m-%d"), "minutes": round((time.perf_counter() - started) / 60, 1)})
        log.info("seed %d done (%d of %d) after %.0f minutes", seed, done, len(args.seeds),
                 (time.perf_counter() - started) / 60)
    print((HERE / "quality.md").read_text())


if __name__ == "__main__":
    main()
