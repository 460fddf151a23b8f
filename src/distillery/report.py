"""``python -m distillery.report``: the pull-request report, in markdown (``make report``; CI posts it).

Metrics and params that changed against a base revision (DVC's own ``dvc metrics diff --md`` and
``dvc params diff --md`` tables; the metrics files hold only what people compare, see
``tracking.write_metrics``), plus the evaluation plots as images.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from distillery import atomic, config
from distillery.dvc_cli import dvc_command

PLOTS = ("per_class_f1.png", "pr_curves.png", "confusion_matrix.png")


def dvc_table(*args: str) -> str:
    """``dvc <args> --md``: DVC's own markdown table, or ``_no change_`` when it has no row."""
    result = subprocess.run(dvc_command(*args, "--md"), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: dvc {' '.join(args)} failed: {result.stderr.strip()}")
    lines = result.stdout.strip().splitlines()
    return "\n".join(lines) if len(lines) > 2 else "_no change_"


def report(base: str, plots: Path, embed_images: bool = True) -> str:
    present = [name for name in PLOTS if (plots / name).is_file()]
    images = ([f"![{name}]({plots / name})" for name in present] if embed_images else
              [f"- `{plots / name}` (in the workflow run's `plots` artifact)" for name in present])
    return "\n\n".join([
        f"## distillery: this branch vs `{base}`",
        "### Metrics that changed\n" + dvc_table("metrics", "diff", base),
        "### Params that changed\n" + dvc_table("params", "diff", base),
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
