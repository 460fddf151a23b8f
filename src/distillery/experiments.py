"""``python -m distillery.experiments`` (``make exps``): the DVC experiments table people compare, in 200 columns.

``dvc exp show`` lists every metric and param (hundreds of columns); this reads its JSON and prints
the ~15 that answer "which run is better": each model's size and score, what int8 cost, and the
test score of the bundle. Metric names follow the metrics files (``teacher.val.<metric>``,
``student.val.<metric>``, ``int8.<target>.metric_drop``, ``bundle.test.tuned.<metric>``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from distillery import config
from distillery.dvc_cli import dvc_command
from distillery.tasks import get_task

Getter = Callable[[dict[str, Any], dict[str, Any]], Any]  # (params, metrics by stage) -> value


@dataclass(frozen=True)
class Column:
    group: str
    header: str
    value: Getter


@dataclass(frozen=True)
class Row:
    name: str
    created: str
    params: dict[str, Any]
    metrics: dict[str, Any]  # by stage: the contents of metrics/<stage>.json
    status: str = ""


def dig(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def columns(primary: str) -> list[Column]:
    def param(dotted: str) -> Getter:
        return lambda params, _: dig(params, dotted)

    def metric(stage: str, dotted: str) -> Getter:
        return lambda _, metrics: dig(metrics.get(stage), dotted)

    def model(prefix: str) -> Getter:
        return lambda params, _: (f"{dig(params, prefix + '.family')}/{dig(params, prefix + '.size')}"
                                  if dig(params, prefix + ".family") else None)

    return [
        Column("teacher", "model", model("model")),
        Column("teacher", f"val {primary}", metric("train", f"teacher.val.{primary}")),
        Column("student", "model", model("distill.student")),
        Column("student", "alpha", param("distill.alpha")),
        Column("student", "T", param("distill.temperature")),
        Column("student", f"val {primary}", metric("distill", f"student.val.{primary}")),
        Column("int8", "method", param("quantize.method")),
        Column("int8 tflite", "drop", metric("quantize", "int8.tflite.metric_drop")),
        Column("int8 tflite", "size", metric("quantize", "int8.tflite.size_ratio")),
        Column("int8 onnx", "drop", metric("quantize", "int8.onnx.metric_drop")),
        Column("int8 onnx", "size", metric("quantize", "int8.onnx.size_ratio")),
        Column("bundle test", primary, metric("evaluate", f"bundle.test.tuned.{primary}")),
        Column("bundle test", "gain", metric("evaluate", "bundle.test_gain_points")),
    ]


def rows_of(entry: dict[str, Any], name: str) -> Row:
    data = entry.get("data") or {}
    metrics = {path.rsplit("/", 1)[-1].removesuffix(".json"): found.get("data", {})
               for path, found in (data.get("metrics") or {}).items()}
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data", {})
    created = (data.get("timestamp") or "-").replace("T", " ")[:16]
    return Row(name, created, params, metrics, "failed" if entry.get("error") else "")


def rows_from(exp_show: list[dict[str, Any]]) -> Iterator[Row]:
    """Each commit of ``dvc exp show --json``, then its experiments, newest first as DVC lists them."""
    for commit in exp_show:
        rev = commit["rev"]
        yield rows_of(commit, commit.get("name") or (rev if rev == "workspace" else rev[:7]))
        for experiment in commit.get("experiments") or []:
            for run in experiment.get("revs") or []:
                yield rows_of(run, f"  {experiment.get('name') or run.get('name') or run['rev'][:7]}")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def render(rows: list[Row], cols: list[Column]) -> str:
    head = [("", "experiment"), ("", "created"), *((c.group, c.header) for c in cols)]
    body = [[row.name + (f" ({row.status})" if row.status else ""), row.created,
             *(fmt(c.value(row.params, row.metrics)) for c in cols)] for row in rows]
    widths = [max(len(head[i][1]), *(len(line[i]) for line in body)) for i in range(len(head))]
    group_line, previous = [], None
    for (group, _), width in zip(head, widths, strict=True):
        group_line.append((group if group != previous else "").ljust(width))
        previous = group
    lines = [group_line, [h.ljust(w) for (_, h), w in zip(head, widths, strict=True)],
             ["-" * w for w in widths], *([cell.ljust(w) for cell, w in zip(line, widths, strict=True)]
                                          for line in body)]
    return "\n".join("  ".join(line).rstrip() for line in lines)


def exp_show(all_commits: bool) -> list[dict[str, Any]]:
    args = ["exp", "show", "--json", "--no-pager", *(["--all-commits"] if all_commits else [])]
    result = subprocess.run(dvc_command(*args), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: dvc exp show failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "[]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all-commits", action="store_true", help="experiments of every commit, not only HEAD's")
    args = parser.parse_args(argv)
    try:
        primary = get_task(config.load().task).primary_metric
    except config.ConfigError as exc:
        sys.exit(f"error: {exc}")
    print(render(list(rows_from(exp_show(args.all_commits))), columns(primary)))


if __name__ == "__main__":
    main()
