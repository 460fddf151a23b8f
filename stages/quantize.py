"""quantize: the student in ``paths.student`` -> int8 TFLite and ONNX in ``paths.quantized``, measured."""

from distillery.artifacts.quantized import TARGETS
from distillery.config import Params
from distillery.quantize.run import quantize_student
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import write_metrics

TASK_PARTS = ("training", "scoring")  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def quantize(params: Params) -> None:
    task = get_task(params.task)
    metrics = quantize_student(task, params)
    measured_here = ("latency_ms", "fp32_latency_ms", "latency_ratio", "latency_ms_by_activation_type")
    write_metrics(params.paths, "quantize", metrics, record_only=[
        f"{target}.{key}" for target in TARGETS for key in (*measured_here, "input", "output")])
    for target in TARGETS:
        result = metrics[target]
        log.info("%s int8: %.2fx size, %.2fx batch-1 latency, %s drop %.2f points, %.2f%% label agreement",
                 target, result["size_ratio"], result["latency_ratio"], task.primary_metric, result["metric_drop"],
                 100 * result["agreement"])


if __name__ == "__main__":
    run_stage("quantize", quantize, parts=TASK_PARTS)
