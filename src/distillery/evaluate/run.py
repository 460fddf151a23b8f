"""The evaluate stage: the int8 models' outputs on val and test, handed to the task to tune and score.

Scores come from the int8 TFLite model (the mobile target, the one whose rule ships) on val and
test, and from the ONNX int8 model on test; a task that asks for them also gets the fp32
teacher's and student's test outputs, to report what distillation and int8 cost on test. The
task tunes its decision rule on val alone and scores test once with it; the rule and the
pipeline's own test decisions (export's parity reference) go to the evaluation store.
"""

from __future__ import annotations

import logging

import numpy as np

from distillery import atomic
from distillery.artifacts import quantized
from distillery.artifacts.evaluation import write_evaluation
from distillery.config import Params
from distillery.data.batches import Normalizer, normalised_inputs
from distillery.models.checkpoint import load_model_dir
from distillery.models.inference import predict_outputs
from distillery.runners import OnnxModel, TFLiteModel
from distillery.tasks.base import Evaluation, Task

log = logging.getLogger(__name__)


def evaluate_int8(task: Task, params: Params) -> Evaluation:
    paths, threads = params.paths, params.train.threads
    data = task.open_data(paths.prepared)
    meta = quantized.read_meta(paths.quantized)
    normalizer = Normalizer(meta.input_mean, meta.input_std)
    tflite = TFLiteModel(paths.quantized / quantized.TFLITE_INT8, threads=threads)
    val, test = data.split("val"), data.split("test")
    log.info("scoring val (%d images) and test (%d) with the int8 models", len(val), len(test))
    val_outputs = tflite(normalised_inputs(val, normalizer))
    test_inputs = normalised_inputs(test, normalizer)
    test_outputs = {"tflite": tflite(test_inputs),
                    "onnx": OnnxModel(paths.quantized / quantized.ONNX_INT8, threads=threads)(test_inputs)}
    if task.scores_fp32_on_test:
        for role, folder in (("teacher", paths.teacher), ("student", paths.student)):
            model, model_meta = load_model_dir(folder)
            test_outputs[f"{role}_fp32"] = predict_outputs(
                model, test, Normalizer(model_meta.input_mean, model_meta.input_std), task.forward)
    evaluation = task.evaluate((val_outputs, np.asarray(val.labels)), test_outputs, np.asarray(test.labels),
                               params.thresholds, data, paths.plots / "evaluate")
    with atomic.atomic_dir(paths.evaluation) as out:
        write_evaluation(out, evaluation.rule, evaluation.test_decisions)
    return evaluation
