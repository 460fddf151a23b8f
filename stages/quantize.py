"""quantize: the student in ``paths.student`` -> int8 TFLite and ONNX in ``paths.quantized``, measured."""

from dataclasses import asdict

from distillery.artifacts.quantized import TARGETS
from distillery.config import Params
from distillery.quantize.run import quantize_student
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import Tracker, write_metrics

TASK_PARTS = ("training", "scoring")  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def quantize(params: Params) -> None:
    task = get_task(params.task)
    with Tracker(params.tracking, "quantize") as tracker:
        tracker.params({"quantize": asdict(params.quantize)})
        metrics = quantize_student(task, params)
        fp32 = metrics.pop("fp32")  # the student's, as distill.json has it: measured again here as the baseline
        write_metrics(params.paths, "quantize", {"int8": metrics, "fp32": fp32}, record_only=[
            "fp32", *(f"int8.{target}.{key}" for target in TARGETS for key in ("input", "output"))])
        tracker.metrics(metrics)
    for target in TARGETS:
        result = metrics[target]
        log.info("%s int8: %.2fx size, %.2fx batch-1 latency, %s drop %.2f %s, %.2f%% of outputs agree",
                 target, result["size_ratio"], result["latency_ratio"], task.primary_metric, result["metric_drop"],
                 task.drop_unit, 100 * result["agreement"])


if __name__ == "__main__":
    run_stage("quantize", quantize, parts=TASK_PARTS)
