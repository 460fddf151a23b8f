"""prepare: labelled images in ``paths.raw`` -> validated, split, letterboxed ``paths.prepared``."""

from distillery.config import Params
from distillery.data.prepare import prepare_dataset
from distillery.stage import log, run_stage
from distillery.tracking import write_metrics


def prepare(params: Params) -> None:
    result = prepare_dataset(params.data, params.paths.raw, params.paths.prepared, params.seed)
    write_metrics(params.paths, "prepare", result.metrics, record_only=["class_counts", "skipped"])
    log.info("images per split: %s; dropped: %s", result.metrics["images"],
             {k: v for k, v in result.metrics["dropped"].items() if v} or "none")


if __name__ == "__main__":
    run_stage("prepare", prepare)
