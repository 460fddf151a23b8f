"""``make exps``: the experiments table from ``dvc exp show --json``, readable in 200 columns."""

from __future__ import annotations

from distillery.experiments import columns, render, rows_from

PARAMS = {"model": {"family": "convnext", "size": "small"}, "quantize": {"method": "ptq"},
          "distill": {"alpha": 0.7, "temperature": 2.0, "student": {"family": "mobilenet_v2", "size": "base"}}}
METRICS = {
    "metrics/train.json": {"data": {"teacher": {"val": {"macro_f1": 0.913494}}}},
    "metrics/distill.json": {"data": {"student": {"val": {"macro_f1": 0.946948}}}},
    "metrics/quantize.json": {"data": {"int8": {"tflite": {"metric_drop": 0.0005, "size_ratio": 0.2774},
                                                "onnx": {"metric_drop": 0.1541, "size_ratio": 0.2756}}}},
    "metrics/evaluate.json": {"data": {"bundle": {"test": {"tuned": {"macro_f1": 0.935098}},
                                                  "test_gain_points": -0.1604}}},
}


def entry(rev: str, name: str | None, metrics: dict | None = None, error: dict | None = None) -> dict:
    return {"rev": rev, "name": name, "error": error,
            "data": {"rev": rev, "timestamp": "2026-12-02T04:13:46", "params": {"params.yaml": {"data": PARAMS}},
                     "metrics": metrics or {}}}


def test_the_table_names_whose_scores_and_fits_200_columns() -> None:
    exp_show = [entry("workspace", None, METRICS),
                {**entry("9453c00db23b3e1de4799d6ed3d5d5ff07959e24", "main", METRICS), "experiments": [
                    {"name": "a-rather-long-experiment-name",
                     "revs": [entry("1234567aaaa", "a-rather-long-experiment-name", METRICS)]},
                    {"name": "broken-run", "revs": [entry("7654321bbbb", "broken-run", error={"msg": "failed"})]}]}]
    lines = render(list(rows_from(exp_show)), columns("macro_f1")).splitlines()
    assert max(map(len, lines)) <= 200
    assert lines[0].split() == ["teacher", "student", "int8", "int8", "tflite", "int8", "onnx", "bundle", "test"]
    assert lines[1].split()[:4] == ["experiment", "created", "model", "val"]
    workspace, main, experiment, broken = lines[3:]
    assert workspace.split() == ["workspace", "2026-12-02", "04:13", "convnext/small", "0.9135", "mobilenet_v2/base",
                                 "0.7", "2", "0.9469", "ptq", "0.0005", "0.2774", "0.1541", "0.2756", "0.9351",
                                 "-0.1604"]
    assert main.startswith("main ") and experiment.startswith("  a-rather-long-experiment-name ")
    assert broken.startswith("  broken-run (failed)") and broken.split()[-6:] == ["-"] * 6
