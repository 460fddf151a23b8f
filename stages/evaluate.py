"""evaluate: tune the task's decision rule (``thresholds.*``) on val with the int8 model, then score test once."""

from dataclasses import asdict

from distillery.config import Params
from distillery.evaluate.run import evaluate_int8
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import Tracker, without, write_metrics

TASK_PARTS = ("evaluation",)  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def evaluate(params: Params) -> None:
    task = get_task(params.task)
    with Tracker(params.tracking, "evaluate") as tracker:
        tracker.params({"thresholds": asdict(params.thresholds)})
        evaluation = evaluate_int8(task, params)
        report = evaluation.report
        write_metrics(params.paths, "evaluate", {"bundle": report},
                      record_only=[f"bundle.{key}" for key in evaluation.record_only])
        tracker.metrics(without(report, evaluation.record_only))
        tracker.artifacts(params.paths.plots / "evaluate", "plots")
    log.info("%s", evaluation.headline)


if __name__ == "__main__":
    run_stage("evaluate", evaluate, parts=TASK_PARTS)
