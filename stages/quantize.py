"""quantize: the student in ``paths.student`` -> int8 TFLite and ONNX in ``paths.quantized``, measured."""

from distillery.config import Params
from distillery.quantize import TARGETS
from distillery.quantize.run import quantize_student
from distillery.stage import log, run_stage
from distillery.tracking import write_metrics


def quantize(params: Params) -> None:
    metrics = quantize_student(params)
    measured_here = ("latency_ms", "fp32_latency_ms", "latency_ratio", "latency_ms_by_activation_type")
    write_metrics(params.paths, "quantize", metrics, record_only=[
        f"{target}.{key}" for target in TARGETS for key in (*measured_here, "input", "output")])
    for target in TARGETS:
        result = metrics[target]
        log.info("%s int8: %.2fx size, %.2fx batch-1 latency, macro-F1 drop %.2f points, %.2f%% label agreement",
                 target, result["size_ratio"], result["latency_ratio"], result["metric_drop"],
                 100 * result["agreement"])


if __name__ == "__main__":
    run_stage("quantize", quantize)
