"""evaluate: tune the task's decision rule (``thresholds.*``) on val with the int8 model, then score test once."""

from distillery.config import Params
from distillery.evaluate.run import evaluate_int8
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import write_metrics

TASK_PARTS = ("evaluation",)  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def evaluate(params: Params) -> None:
    task = get_task(params.task)
    evaluation = evaluate_int8(task, params)
    report, primary = evaluation.report, task.primary_metric
    write_metrics(params.paths, "evaluate", report, record_only=list(evaluation.record_only))
    val, test = report["val"], report["test"]
    log.info("val %s: %.4f at the default rule -> %.4f tuned; test: %.4f -> %.4f (%+.2f points)", primary,
             val["flat"][primary], val["tuned"][primary], test["flat"][primary], test["tuned"][primary],
             report["test_gain_points"])


if __name__ == "__main__":
    run_stage("evaluate", evaluate, parts=TASK_PARTS)
