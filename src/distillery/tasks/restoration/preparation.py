"""Restoration's ``preparation`` part: the user's pairs or clean images -> the checked, split, tiled store."""

from __future__ import annotations

from pathlib import Path

from distillery.config import RestorationConfig
from distillery.tasks.base import PrepareResult
from distillery.tasks.restoration.store import prepare_store


def prepare(cfg: RestorationConfig, raw: Path, out: Path, seed: int) -> PrepareResult:
    metrics = prepare_store(cfg.data, cfg.tiles, Path(raw), Path(out), seed)
    return PrepareResult(manifest={}, metrics=metrics)
