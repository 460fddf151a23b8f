"""train: fine-tune the teacher (``model.*``, ``train.*``) on ``paths.prepared`` from ``paths.pretrained``."""

from dataclasses import asdict

from distillery.config import Params
from distillery.distributed import launch_or_join
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import Tracker, write_csv, write_metrics
from distillery.train.loop import epoch_timings, history_rows
from distillery.train.teacher import train_teacher

TASK_PARTS = ("training", "scoring")  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def train(params: Params) -> None:
    with (
        launch_or_join("stages.train", params.train.processes, params.train.threads) as (rank, threads),
        Tracker(params.tracking, "train") if rank == 0 else Tracker.disabled() as tracker,
    ):
            tracker.params({"model": asdict(params.model), "train": asdict(params.train), "seed": params.seed})
            task = get_task(params.task)
            result = train_teacher(task, params, tracker, threads)
            if rank != 0:
                return
            fit = result.fit
            metrics = {
                "val": fit.val_metrics,
                "best_epoch": fit.best_epoch,
                "epochs_run": len(fit.history),
                "parameters": fit.total_parameters,
                "trainable_parameters": fit.trainable_parameters,
                "processes": params.train.processes,
                "transfer": result.transfer.summary() if result.transfer else None,
                "seconds": fit.seconds,
                "images_per_second": round(fit.images_per_second, 1),
                "epoch_timings": epoch_timings(fit.history),
            }
            write_metrics(params.paths, "train", {"teacher": metrics},
                          record_only=["teacher.processes", "teacher.transfer"])
            write_csv(params.paths.plots / "train.csv", history_rows(fit.history))
            tracker.metrics(metrics)  # the student's run logs the same names
            tracker.artifacts(params.paths.teacher, "teacher")
            log.info("teacher: val %s %.4f (best epoch %d) in %.0f s, %.0f img/s", task.primary_metric,
                     fit.val_metrics[task.primary_metric], fit.best_epoch, fit.seconds, fit.images_per_second)


if __name__ == "__main__":
    run_stage("train", train, parts=TASK_PARTS)
