"""Restoration's ``readiness`` part: the layout as prepare will read it, without decoding a pixel."""

from __future__ import annotations

from pathlib import Path

from distillery.config import RestorationConfig
from distillery.errors import DataError
from distillery.tasks.base import DataSurvey
from distillery.tasks.restoration.sources import read_pairs

DEMO_MARK = "skimage-demo"  # the name of the demo's data folder marker file


def survey(cfg: RestorationConfig, raw: Path) -> DataSurvey:
    listing = read_pairs(raw, cfg.data.layout)
    blocking = [p for p in listing.problems if getattr(cfg.data.on_problem, p.kind) == "error"]
    if blocking:
        raise DataError(f"{raw}: {blocking[0].line()} ({len(blocking)} such problem(s)); prepare would stop")
    layout = "degraded/clean pairs" if listing.layout == "pairs" else "clean images, degraded by params.yaml"
    skipped = f"; {len(listing.skipped)} entries skipped (prepare lists them)" if listing.skipped else ""
    return DataSurvey(f"{layout}, {len(listing.pairs)} images{skipped}", demo_data=(raw / DEMO_MARK).is_file())
