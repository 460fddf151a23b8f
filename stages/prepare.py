"""prepare: the user's data in ``paths.raw`` -> the task's validated, split ``paths.prepared``."""

from distillery.config import Params
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import write_metrics

TASK_PARTS = ("preparation",)  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def prepare(params: Params) -> None:
    result = get_task(params.task).prepare(params.data, params.paths.raw, params.paths.prepared, params.seed)
    write_metrics(params.paths, "prepare", result.metrics, record_only=["class_counts", "skipped", "source"])
    log.info("images per split: %s; dropped: %s", result.metrics["images"],
             {k: v for k, v in result.metrics["dropped"].items() if v} or "none")


if __name__ == "__main__":
    run_stage("prepare", prepare, parts=TASK_PARTS)
