"""Classification's ``examples`` part: the generated multi-label digit images of the demo, at any size."""

from __future__ import annotations

from pathlib import Path

from distillery.data.demo import DemoSpec, write_multilabel


def write_example_data(raw: Path, images: tuple[int, int, int], seed: int) -> None:
    write_multilabel(raw, DemoSpec(counts=images, seed=seed))
