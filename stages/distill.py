"""distill: train the small student (``distill.*``) from the teacher in ``paths.teacher``."""

from dataclasses import asdict

from distillery.config import Params
from distillery.stage import log, run_stage
from distillery.tracking import Tracker, write_csv, write_metrics
from distillery.train.distill import distill_student
from distillery.train.loop import history_rows


def distill(params: Params) -> None:
    with Tracker(params.tracking, "distill") as tracker:
        tracker.params({"distill": asdict(params.distill), "train": asdict(params.train), "seed": params.seed})
        result = distill_student(params, tracker, params.train.threads)
        student, teacher_f1 = result.student, result.teacher_val["macro_f1"]
        metrics = {
            "student": {"val": student.val_metrics, "parameters": student.total_parameters,
                        "best_epoch": student.best_epoch, "seconds": student.seconds,
                        "images_per_second": round(student.images_per_second, 1)},
            "teacher": {"val": result.teacher_val, "parameters": result.teacher_parameters},
            "parameter_ratio": round(student.total_parameters / result.teacher_parameters, 4),
            "macro_f1_kept": round(student.val_metrics["macro_f1"] / max(teacher_f1, 1e-9), 4),
        }
        if result.without_kd is not None:
            plain = result.without_kd
            metrics["without_kd"] = {"val": plain.val_metrics, "seconds": plain.seconds}
            metrics["kd_gain_macro_f1_points"] = round(
                100 * (student.val_metrics["macro_f1"] - plain.val_metrics["macro_f1"]), 2)
        write_metrics(params.paths, "distill", metrics, record_only=[
            "student.seconds", "student.images_per_second", "without_kd.seconds"])
        write_csv(params.paths.plots / "distill.csv", history_rows(student.history))
        tracker.metrics({"final": metrics})
        tracker.artifacts(params.paths.student, "student")
        log.info("student %s/%s: val macro-F1 %.4f = %.1f%% of the teacher's %.4f, with %.2fx its parameters",
                 params.distill.student.family, params.distill.student.size, student.val_metrics["macro_f1"],
                 100 * metrics["macro_f1_kept"], teacher_f1, metrics["parameter_ratio"])


if __name__ == "__main__":
    run_stage("distill", distill)
