"""distill: train the small student (``distill.*``) from the teacher in ``paths.teacher``."""

from dataclasses import asdict

from distillery.config import Params
from distillery.stage import log, run_stage
from distillery.tasks import get_task
from distillery.tracking import Tracker, write_csv, write_metrics
from distillery.train.distill import distill_student
from distillery.train.loop import epoch_timings, history_rows

TASK_PARTS = ("training", "scoring")  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def distill(params: Params) -> None:
    with Tracker(params.tracking, "distill") as tracker:
        tracker.params({"distill": asdict(params.distill), "train": asdict(params.train), "seed": params.seed})
        task = get_task(params.task)
        primary = task.primary_metric
        result = distill_student(task, params, tracker, params.train.threads)
        student, teacher_score = result.student, result.teacher_val[primary]
        metrics = {
            "val": student.val_metrics, "parameters": student.total_parameters, "best_epoch": student.best_epoch,
            "parameter_ratio": round(student.total_parameters / result.teacher_parameters, 4),
            f"{primary}_kept": round(student.val_metrics[primary] / max(teacher_score, 1e-9), 4),
            "seconds": student.seconds, "images_per_second": round(student.images_per_second, 1),
            "epoch_timings": epoch_timings(student.history),
        }
        record = {"student": metrics, "teacher": {"val": result.teacher_val, "parameters": result.teacher_parameters}}
        if result.without_kd is not None:
            plain = result.without_kd
            record["student_without_kd"] = {"val": plain.val_metrics, "seconds": plain.seconds}
            metrics[f"kd_gain_{primary}_points"] = round(
                task.points_per_unit * (student.val_metrics[primary] - plain.val_metrics[primary]), 2)
        write_metrics(params.paths, "distill", record, record_only=["teacher"])  # the teacher's: train.json
        write_csv(params.paths.plots / "distill.csv", history_rows(student.history))
        tracker.metrics(metrics)  # the teacher's run logs the same names
        tracker.artifacts(params.paths.student, "student")
        log.info("student %s/%s: val %s %.4f = %.1f%% of the teacher's %.4f, with %.2fx its parameters",
                 params.distill.student.family, params.distill.student.size, primary, student.val_metrics[primary],
                 100 * metrics[f"{primary}_kept"], teacher_score, metrics["parameter_ratio"])


if __name__ == "__main__":
    run_stage("distill", distill, parts=TASK_PARTS)
