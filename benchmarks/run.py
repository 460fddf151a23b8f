"""Run the benchmarks; write benchmarks/results.json and benchmarks/results.md.

Usage: ``make bench`` (or ``python -m benchmarks.run [name ...]``). Medians over repeats after a
warm-up; the machine and package versions are recorded beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import common, data_loading, dvc_overhead, int8, pull, stages, training
from distillery import atomic
from distillery.stage import configure_environment
from distillery.tracking import flatten

HERE = Path(__file__).parent
BENCHMARKS = {"data_loading": data_loading.main, "pull": pull.main, "training": training.main,
              "dvc_overhead": dvc_overhead.main, "int8": int8.main, "stages": stages.main}


QUALITY = HERE / "quality.json"  # make quality: the demo's quality numbers over seeds


def quality_over_seeds() -> dict[str, Any]:
    """The quality numbers as ``make quality`` measured them (mean, sd, n), beside the speed ones; the int8
    benchmark's F1 values are one run's (n=1: the demo's seed)."""
    if not QUALITY.is_file():
        return {}
    measured = json.loads(QUALITY.read_text())
    return {"source": QUALITY.name, "seeds": measured["seeds"], "date": measured["date"],
            "numbers": {key: {k: s[k] for k in ("mean", "sd", "n")} for key, s in measured["demo"].items()}}


def markdown(results: dict) -> str:
    lines = ["| benchmark | metric | value |", "|---|---|---|"]
    for name, values in results["benchmarks"].items():
        for key, value in flatten(values).items():
            if isinstance(value, int | float):
                lines.append(f"| {name} | {key} | {value} |")
    quality = results.get("quality")
    if quality:
        lines += ["", "The int8 F1 values above are one run's (n=1, the demo's seed). Over seeds "
                  f"({quality['source']}, `make quality`, {quality['date']}):", "",
                  "| number | mean ± sd | n |", "|---|---|---|"]
        lines += [f"| {key} | {s['mean']} ± {s['sd']} | {s['n']} |" for key, s in quality["numbers"].items()]
    m = results["machine"]
    lines.append("")
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
                 f"torch {m['versions']['torch']}, measured {results['date']}.")
    if results.get("dates"):  # `python -m benchmarks.run NAME` reruns one benchmark and keeps the others'
        dates = ", ".join(f"{name} {date}" for name, date in sorted(results["dates"].items()))
        lines.append(f"Each benchmark's date: {dates}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    logging.basicConfig(level=logging.WARNING)
    configure_environment()
    results_file = HERE / "results.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {"benchmarks": {}}
    for name in args.names or BENCHMARKS:
        print(f"benchmark {name} ...", file=sys.stderr, flush=True)
        results["benchmarks"][name] = BENCHMARKS[name]()
        results.setdefault("dates", {})[name] = time.strftime("%Y-%m-%d")
    results["quality"] = quality_over_seeds()
    results["machine"] = common.machine()
    results["date"] = time.strftime("%Y-%m-%d")
    atomic.write_json(results_file, results)
    atomic.write_text(HERE / "results.md", markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
