"""``python -m distillery.models list``: every registered family and size, with parameter counts and the
published checkpoint whose weights fit it (``distillery.models.published``)."""

from __future__ import annotations

import argparse

from distillery.models.published import SAME_ARCHITECTURE_AS
from distillery.models.registry import FAMILIES, count_parameters


def list_models(image_size: int, num_labels: int) -> None:
    print(f"{'family':<14} {'size':<13} {'task':<15} {'params':>10}  input  {'lora targets':<26} weights of")
    for name, spec in FAMILIES.items():
        for size in spec.sizes:
            params = count_parameters(name, size, num_labels, image_size)
            shape = f"{image_size}x{image_size}" if spec.takes_image_size or spec.task == "classification" else "any"
            print(f"{name:<14} {size:<13} {spec.task:<15} {params / 1e6:9.2f}M  {shape:<5}  "
                  f"{', '.join(spec.lora_targets):<26} {SAME_ARCHITECTURE_AS.get((name, size), '')}".rstrip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distillery.models")
    sub = parser.add_subparsers(dest="command", required=True)
    lister = sub.add_parser("list", help="the registry table")
    lister.add_argument("--image-size", type=int, default=64)
    lister.add_argument("--num-labels", type=int, default=10)
    args = parser.parse_args(argv)
    list_models(args.image_size, args.num_labels)


if __name__ == "__main__":
    main()
