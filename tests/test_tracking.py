"""Records and metrics files: whose results they hold, and what of them may change on a rerun."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from distillery import config
from distillery.tracking import add_run_details, read_record, split_run_details, write_metrics

RECORD = {
    "teacher": {
        "val": {"macro_f1": 0.9},
        "seconds": 12.5,
        "epoch_timings": [{"epoch": 1, "seconds": 12.5}],
        "transfer": {"tensors": 3},
    },
    "pretrained": {"teacher": {"files": {"model.safetensors": {"sha256": "ab", "from_cache": True, "seconds": 0.1}}}},
}


def paths_in(root: Path) -> config.Paths:
    return dataclasses.replace(config.load().paths, metrics=root / "metrics", records=root / "metrics" / "records")


def test_run_details_are_split_out_at_any_depth_and_nothing_else_is() -> None:
    kept, details = split_run_details(RECORD)
    assert kept == {"teacher": {"val": {"macro_f1": 0.9}, "transfer": {"tensors": 3}},
                    "pretrained": {"teacher": {"files": {"model.safetensors": {"sha256": "ab"}}}}}
    assert details == {"teacher": {"seconds": 12.5, "epoch_timings": [{"epoch": 1, "seconds": 12.5}]},
                       "pretrained": {"teacher": {"files": {"model.safetensors": {"from_cache": True,
                                                                                  "seconds": 0.1}}}}}


def test_a_rerun_that_only_took_longer_writes_the_same_record_and_metrics(tmp_path) -> None:
    paths = paths_in(tmp_path)
    write_metrics(paths, "train", RECORD, record_only=["teacher.transfer"])
    first = [(paths.records / "train.json").read_bytes(), (paths.metrics / "train.json").read_bytes()]
    slower = json.loads(json.dumps(RECORD))
    slower["teacher"]["seconds"] = 99.0
    slower["pretrained"]["teacher"]["files"]["model.safetensors"]["from_cache"] = False
    write_metrics(paths, "train", slower, record_only=["teacher.transfer"])
    assert [(paths.records / "train.json").read_bytes(), (paths.metrics / "train.json").read_bytes()] == first
    assert json.loads(first[1]) == {"teacher": {"val": {"macro_f1": 0.9}},
                                    "pretrained": {"teacher": {"files": {"model.safetensors": {"sha256": "ab"}}}}}
    assert read_record(paths, "train")["teacher"]["seconds"] == 99.0
    assert (paths.records / "run" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_run_details_of_another_run_are_not_mixed_into_a_checked_out_record(tmp_path) -> None:
    paths = paths_in(tmp_path)
    write_metrics(paths, "train", RECORD)
    add_run_details(paths, "train", stage_seconds=20.0)
    assert read_record(paths, "train")["stage_seconds"] == 20.0
    other = {"teacher": {"val": {"macro_f1": 0.5}}}
    (paths.records / "train.json").write_text(json.dumps(other))  # what `dvc checkout` of another run does
    assert read_record(paths, "train") == other
    add_run_details(paths, "train", stage_seconds=3.0)
    assert read_record(paths, "train") == {**other, "stage_seconds": 3.0}
