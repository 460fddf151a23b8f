"""Classification's ``readiness`` part: a quick look at the raw data for ``python -m distillery.doctor``.

It lists the layout as prepare will (``distillery.data.sources``) and applies the checks that need
no pixels: labels usable, no path declared twice, every class above ``data.min_images_per_class``
when that is an error. Decoding every image stays prepare's job.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from distillery.config import DataConfig
from distillery.data.prepare import refuse_conflicting_labels, refuse_unusable_labels, resolve_task
from distillery.data.sources import read_items
from distillery.errors import DataError
from distillery.tasks.base import DataSurvey

DEMO_LABELS = [str(digit) for digit in range(10)]
LAYOUT_NAMES = {"folders": "class folders", "csv": "CSV manifest", "split_files": "split list files"}


def survey(cfg: DataConfig, raw: Path) -> DataSurvey:
    listing = read_items(raw, cfg.layout, cfg.manifest)
    refuse_unusable_labels(listing.items)
    refuse_conflicting_labels(listing.items)
    label_mode = resolve_task(cfg.label_mode, listing.items, listing.layout)
    counts = Counter(label for item in listing.items for label in item.labels)
    rare = sorted(label for label, count in counts.items() if count < cfg.min_images_per_class)
    if rare and cfg.on_problem.rare_class == "error":
        raise DataError(f"{raw}: {len(rare)} class(es) with fewer than data.min_images_per_class="
                        f"{cfg.min_images_per_class} images ({', '.join(rare[:5])}); add images, or set "
                        "data.on_problem.rare_class: drop")
    skipped = f"; {len(listing.skipped)} entries skipped (prepare lists them)" if listing.skipped else ""
    summary = (f"{LAYOUT_NAMES[listing.layout]}, {len(listing.items)} images, {len(counts)} labels "
               f"({label_mode}){skipped}")
    return DataSurvey(summary, demo_data=sorted(counts) == DEMO_LABELS)
