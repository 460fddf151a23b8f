"""``python -m distillery.report``: the pull-request report, in markdown (``make report``; CI posts it).

Metrics and params that changed against a base revision (``dvc metrics diff`` / ``dvc params diff``;
the metrics files hold only what people compare, see ``tracking.write_metrics``), plus the
evaluation plots as images.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from distillery import atomic, config
from distillery.dvc_cli import dvc_command

PLOTS = ("per_class_f1.png", "pr_curves.png", "confusion_matrix.png")


def dvc_json(*args: str) -> dict[str, Any]:
    result = subprocess.run(dvc_command(*args, "--json"), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: dvc {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1e4 else f"{value:.4g}"
    return "-" if value is None else str(value)


def table(diff: dict[str, dict[str, dict[str, Any]]]) -> str:
    rows = [f"| {Path(path).stem} | {key} | {fmt(change.get('old'))} | {fmt(change.get('new'))} | "
            f"{fmt(change.get('diff'))} |"
            for path, changes in sorted(diff.items()) for key, change in sorted(changes.items())]
    if not rows:
        return "_no change_"
    return "\n".join(["| file | key | base | this branch | change |", "|---|---|---|---|---|", *rows])


def report(base: str, plots: Path, embed_images: bool = True) -> str:
    metrics = dvc_json("metrics", "diff", base)
    params = dvc_json("params", "diff", base)
    present = [name for name in PLOTS if (plots / name).is_file()]
    images = ([f"![{name}]({plots / name})" for name in present] if embed_images else
              [f"- `{plots / name}` (in the workflow run's `plots` artifact)" for name in present])
    return "\n\n".join([
        f"## distillery: this branch vs `{base}`",
        "### Metrics that changed\n" + table(metrics),
        "### Params that changed\n" + table(params),
        "### Evaluation plots (this branch)\n" + ("\n".join(images) or "_none yet: run `dvc repro`_"),
        f"All curves, interactive: `dvc plots diff {base} --open`.",
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="main", help="the revision to compare with (default: main)")
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    parser.add_argument("--plots-elsewhere", action="store_true",
                        help="name the plot files instead of embedding them (a comment that uploads no image)")
    args = parser.parse_args(argv)
    try:
        params = config.load()
    except config.ConfigError as exc:
        sys.exit(f"error: {exc}")
    text = report(args.base, params.paths.plots / "evaluate", embed_images=not args.plots_elsewhere)
    if args.out:
        atomic.write_text(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    main()
