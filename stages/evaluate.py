"""evaluate: tune thresholds (``thresholds.*``) on val with the int8 model, then score test once."""

from distillery.config import Params
from distillery.evaluate.metrics import PRIMARY_METRIC
from distillery.evaluate.report import evaluate_int8
from distillery.stage import log, run_stage
from distillery.tracking import write_metrics


def evaluate(params: Params) -> None:
    report = evaluate_int8(params)
    write_metrics(params.paths, "evaluate", report, record_only=["thresholds.per_class", "test.tuned.per_class"])
    val, test = report["val"], report["test"]
    log.info("val %s: %.4f at 0.5 -> %.4f tuned; test: %.4f -> %.4f (%+.2f points)", PRIMARY_METRIC,
             val["flat"][PRIMARY_METRIC], val["tuned"][PRIMARY_METRIC], test["flat"][PRIMARY_METRIC],
             test["tuned"][PRIMARY_METRIC], report["test_gain_points"])


if __name__ == "__main__":
    run_stage("evaluate", evaluate)
