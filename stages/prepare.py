"""prepare: the user's data in ``paths.raw`` -> the task's validated, split ``paths.prepared``."""

from dataclasses import asdict

from distillery.config import Params
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import Tracker, without, write_metrics

TASK_PARTS = ("preparation",)  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def prepare(params: Params) -> None:
    with Tracker(params.tracking, "prepare") as tracker:
        task = get_task(params.task)
        cfg = getattr(params, task.data_section)
        tracker.params({task.data_section: asdict(cfg), "seed": params.seed})
        result = task.prepare(cfg, params.paths.raw, params.paths.prepared, params.seed)
        record_only = ["data.class_counts", "data.skipped", "data.source"]
        write_metrics(params.paths, "prepare", {"data": result.metrics}, record_only=record_only)
        tracker.metrics(without(result.metrics, [key.removeprefix("data.") for key in record_only]))
    log.info("images per split: %s; dropped: %s", result.metrics["images"],
             {k: v for k, v in result.metrics["dropped"].items() if v} or "none")


if __name__ == "__main__":
    run_stage("prepare", prepare, parts=TASK_PARTS)
