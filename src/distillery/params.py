"""``python -m distillery.params set KEY=VALUE ...``: change params.yaml from the shell, comments kept.

Each VALUE is read as a YAML value (``0.5`` a number, ``true`` a boolean, ``[1, 2]`` a list, anything
else a string), the whole file is validated as every stage validates it, and only then written
(atomically). An unknown key or a bad value changes nothing and names the key::

    python -m distillery.params set paths.raw=/data/photos train.augment.hflip=0.5
    python -m distillery.params get paths.raw
"""

from __future__ import annotations

import argparse
import functools
import io
import sys
from pathlib import Path
from typing import Any

from distillery import atomic, config
from distillery.errors import ConfigError, DistilleryError


def parse_assignment(text: str) -> tuple[str, Any]:
    from ruamel.yaml import YAML, YAMLError

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"{text!r}: expected KEY=VALUE, e.g. paths.raw=/data/photos")
    try:
        return key, YAML(typ="safe").load(value) if value.strip() else ""
    except YAMLError:
        return key, value


def flow_style(value: Any) -> Any:
    """Lists stay on their key's line (``labels: [a, b]``), as params.yaml writes them."""
    from ruamel.yaml.comments import CommentedSeq

    if not isinstance(value, list):
        return value
    sequence = CommentedSeq(value)
    sequence.fa.set_flow_style()
    return sequence


def set_values(path: Path, assignments: list[str]) -> list[str]:
    """Apply ``KEY=VALUE`` assignments to ``path`` keeping its comments; validate, then write."""
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments and key order stay
    yaml.preserve_quotes = True
    yaml.width = 4096  # a long path stays on its key's line instead of folding onto the next
    text = path.read_text(encoding="utf-8")
    config.read_yaml(text, path)
    document = yaml.load(text)
    changed = []
    for key, value in map(parse_assignment, assignments):
        *parents, leaf = key.split(".")
        node = document
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"{key}: {part!r} is not a section of {path}")
            node = node[part]
        if leaf not in node:
            raise ConfigError(f"{key}: not a key of {path}; `python -m distillery.params get SECTION` lists a "
                              "section's keys")
        node[leaf] = flow_style(value)
        changed.append(f"{key} = {value!r}")
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    config.parse(config.read_yaml(buffer.getvalue(), path))
    atomic.write_text(path, buffer.getvalue())
    return changed


def get_value(path: Path, key: str) -> Any:
    tree = config.read_yaml(path.read_text(encoding="utf-8"), path)
    try:
        return functools.reduce(lambda node, part: node[part], key.split("."), tree)
    except (KeyError, TypeError):
        raise ConfigError(f"{key}: not a key of {path}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distillery.params", description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=None, help="default: the pipeline's ($DISTILLERY_PIPELINE)")
    sub = parser.add_subparsers(dest="command", required=True)
    setter = sub.add_parser("set", help="set KEY=VALUE (dotted keys), validated before writing")
    setter.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    getter = sub.add_parser("get", help="print a value or a section")
    getter.add_argument("key")
    args = parser.parse_args(argv)
    args.file = args.file or config.params_file()
    try:
        if args.command == "set":
            for line in set_values(args.file, args.assignments):
                print(f"{args.file}: {line}")
        else:
            value = get_value(args.file, args.key)
            print("\n".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value)
    except DistilleryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
