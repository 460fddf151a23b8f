"""The prepare stage: a user's labelled images -> a validated, split, model-ready dataset."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm
from tqdm.contrib.concurrent import process_map

from distillery import atomic
from distillery.config import DataConfig
from distillery.data import prepared
from distillery.data.images import decode_rgb
from distillery.data.letterbox import Letterbox
from distillery.data.sources import SPLITS, Item, read_items, shown
from distillery.data.splits import iterative_stratification, stratified_single
from distillery.data.validate import Checked, Problem, Report, check_file, check_labels
from distillery.errors import DataError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
PARALLEL_MIN_ITEMS = 512


@dataclass(frozen=True)
class PrepareResult:
    manifest: dict[str, Any]
    metrics: dict[str, Any]


def parallel_map(fn: Callable[[T], R], args: Sequence[T], desc: str) -> list[R]:
    """``map`` over worker processes (one per core) with a progress bar; in order."""
    workers = min(os.cpu_count() or 1, 8)
    bar = {"total": len(args), "desc": desc, "unit": "img", "mininterval": 1.0}
    if workers == 1 or len(args) < PARALLEL_MIN_ITEMS:
        return list(tqdm(map(fn, args), **bar))
    return process_map(fn, args, max_workers=workers, chunksize=64, **bar)


def resolve_task(requested: str, items: Iterable[Item], layout: str) -> str:
    if requested != "auto":
        return requested
    if layout == "folders" or all(len(item.labels) == 1 for item in items):
        return "single_label"
    return "multi_label"


def drop_duplicates(checked: list[Checked], report: Report) -> list[Checked]:
    """Keep the first copy of each content hash; a copy in another split is a leak.

    The copy kept across splits is the one in the earliest split (train, val, test), so
    evaluation splits never hold an image the model trained on.
    """
    order = {None: -1, **{s: i for i, s in enumerate(SPLITS)}}
    ranked = sorted(range(len(checked)), key=lambda i: (order[checked[i].item.split], i))
    first: dict[str, Checked] = {}
    kept = []
    for position in ranked:
        entry = checked[position]
        seen = first.get(entry.sha256)
        if seen is None:
            first[entry.sha256] = entry
            kept.append(position)
            continue
        cross = seen.item.split != entry.item.split
        kind = "cross_split_duplicate" if cross else "duplicate"
        where = f"in split {seen.item.split}" if cross else "in the same split"
        detail = f"same content as {seen.item.path} {where}"
        report.add(Problem(kind, entry.item.path, detail, entry.item.origin))
    return [checked[i] for i in sorted(kept)]


def drop_rare_classes(
    checked: list[Checked], vocabulary: list[str], minimum: int, task: str, report: Report
) -> tuple[list[Checked], list[str]]:
    counts = {label: 0 for label in vocabulary}
    for entry in checked:
        for label in entry.item.labels:
            counts[label] += 1
    rare = {label for label, n in counts.items() if n < minimum}
    for label in sorted(rare):
        detail = f"class {label!r} has {counts[label]} image(s), below data.min_images_per_class={minimum}"
        report.add(Problem("rare_class", label, detail, "all splits"))
    if not rare or report.errors:
        return checked, vocabulary
    kept = []
    for entry in checked:
        labels = tuple(label for label in entry.item.labels if label not in rare)
        if task == "single_label" and not labels:
            continue
        kept.append(replace(entry, item=replace(entry.item, labels=labels)))
    return kept, [label for label in vocabulary if label not in rare]


def label_matrix(checked: Sequence[Checked], vocabulary: list[str]) -> np.ndarray:
    column = {label: i for i, label in enumerate(vocabulary)}
    matrix = np.zeros((len(checked), len(vocabulary)), dtype=np.uint8)
    for row, entry in enumerate(checked):
        for label in entry.item.labels:
            matrix[row, column[label]] = 1
    return matrix


def assign_splits(
    checked: list[Checked], matrix: np.ndarray, cfg: DataConfig, task: str, seed: int
) -> list[str]:
    """The split of every item: as given; test drawn from train when only train and val are given; else drawn."""
    split_fn = stratified_single if task == "single_label" else iterative_stratification
    given = [entry.item.split for entry in checked]
    if all(split is not None for split in given):
        if set(given) != {"train", "val"}:
            return given  # type: ignore[return-value]
        train = [i for i, split in enumerate(given) if split == "train"]
        drawn = split_fn(matrix[train], {"train": 1.0 - cfg.test_fraction, "test": cfg.test_fraction}, seed)
        for row, split in zip(train, drawn, strict=True):
            given[row] = split
        return given  # type: ignore[return-value]
    if any(split is not None for split in given):
        missing = next(e.item for e in checked if e.item.split is None)
        raise DataError(
            f"{missing.origin}: {missing.path} has no split while other items do; "
            "give every item a split, or none"
        )
    fractions = {
        "train": 1.0 - cfg.val_fraction - cfg.test_fraction,
        "val": cfg.val_fraction,
        "test": cfg.test_fraction,
    }
    return list(split_fn(matrix, fractions, seed))


def refuse_unusable_labels(items: list[Item]) -> None:
    """Labels are lines of labels.txt in the bundle: a control character in one would split or merge them."""
    for item in items:
        for label in item.labels:
            if not label.isprintable():
                raise DataError(f"{item.origin}: label {label!r} of {shown(item.path)} has control characters "
                                "(a newline, tab, ...); rename the class folder or fix the label")


def refuse_conflicting_labels(items: list[Item]) -> None:
    """The same file declared twice with different labels is a mistake to fix, not a duplicate to drop."""
    first: dict[str, Item] = {}
    for item in items:
        seen = first.setdefault(item.path, item)
        if seen is not item and set(seen.labels) != set(item.labels):
            raise DataError(
                f"{shown(item.path)} is declared twice with different labels: "
                f"{';'.join(seen.labels) or '(none)'} [{seen.origin}] and {';'.join(item.labels) or '(none)'} "
                f"[{item.origin}]; keep one"
            )


def fingerprint(rows: Iterable[tuple[str, str, str]]) -> str:
    """A hash of the dataset's content: (split, image sha256, labels) of every kept image."""
    digest = hashlib.sha256()
    for row in sorted(rows):
        digest.update("\t".join(row).encode() + b"\n")
    return digest.hexdigest()


def _letterboxed(root: Path, max_pixels: int, letterbox: Letterbox, rel: str) -> np.ndarray:
    data = (root / rel).read_bytes()
    return letterbox.apply(decode_rgb(io.BytesIO(data), max_pixels, size=len(data)))


def write_test_files(target: Path, root: Path, entries: Sequence[Checked]) -> None:
    """The files as validated, in one tar without times or owners: the same bytes wherever ``root`` is."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        for entry in tqdm(entries, desc="archive test files", unit="img", leave=False):
            data = (root / entry.item.path).read_bytes()
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise DataError(f"{root / entry.item.path}: changed while prepare ran; run it again")
            info = tarfile.TarInfo(entry.item.path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def write_prepared(
    out: Path, root: Path, checked: list[Checked], splits: list[str], matrix: np.ndarray,
    vocabulary: list[str], task: str, cfg: DataConfig, report: Report,
) -> dict[str, Any]:
    letterbox = Letterbox(cfg.image_size, cfg.pad_value)
    load = partial(_letterboxed, root, cfg.max_pixels, letterbox)
    split_info = {}
    for split in SPLITS:
        rows = [i for i, s in enumerate(splits) if s == split]
        images = np.lib.format.open_memmap(
            prepared.images_file(out, split), mode="w+", dtype=np.uint8,
            shape=(len(rows), cfg.image_size, cfg.image_size, 3),
        )
        paths = [checked[i].item.path for i in rows]
        for slot, pixels in enumerate(parallel_map(load, paths, desc=f"letterbox {split}")):
            images[slot] = pixels
        images.flush()
        del images
        labels = matrix[rows]
        np.save(prepared.labels_file(out, split), labels)
        split_info[split] = {
            "images": len(rows),
            "class_counts": dict(zip(vocabulary, labels.sum(axis=0).tolist(), strict=True)),
            "no_label": int((labels.sum(axis=1) == 0).sum()),
        }
    sample_rows = [
        (split, entry.item.path, ";".join(entry.item.labels), entry.sha256)
        for split, entry in zip(splits, checked, strict=True)
    ]
    write_test_files(out / prepared.TEST_FILES, root, [entry for entry, split in zip(checked, splits, strict=True)
                                                       if split == "test"])
    with open(out / prepared.SAMPLES, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "path", "labels", "sha256"])
        writer.writerows(sample_rows)
    manifest = {
        "task": task,
        "labels": vocabulary,
        "letterbox": letterbox.describe(),
        "fingerprint": fingerprint((s, sha, lab) for s, _, lab, sha in sample_rows),
        "splits": split_info,
    }
    atomic.write_json(out / prepared.MANIFEST, manifest)
    (out / prepared.LABELS).write_text("".join(f"{label}\n" for label in vocabulary), encoding="utf-8")
    atomic.write_json(out / prepared.REPORT, report.to_json())
    return manifest


def prepare_dataset(cfg: DataConfig, raw: str | Path, out: str | Path, seed: int) -> PrepareResult:
    """Read, validate, deduplicate, split and letterbox ``raw`` into ``out`` atomically."""
    root = Path(raw)
    listing = read_items(root, cfg.layout, cfg.manifest)
    items = listing.items
    for skipped in listing.skipped:
        log.warning("skipped %s", skipped)
    refuse_unusable_labels(items)
    refuse_conflicting_labels(items)
    task = resolve_task(cfg.label_mode, items, listing.layout)
    log.info("found %d items in %s; task %s", len(items), root, task)
    report = Report(cfg.on_problem)
    vocabulary_given = frozenset(cfg.labels) if cfg.labels else None
    labelled = []
    for item in items:
        problem = check_labels(item, task, vocabulary_given)
        if problem:
            report.add(problem)
        else:
            labelled.append(item)
    results = parallel_map(
        partial(check_file, root, min_side=cfg.min_side, max_pixels=cfg.max_pixels),
        labelled, desc="validate",
    )
    checked = []
    for result in results:
        if isinstance(result, Problem):
            report.add(result)
        else:
            checked.append(result)
    checked = drop_duplicates(checked, report)
    report.raise_if_errors(root)
    vocabulary = sorted(cfg.labels) if cfg.labels else sorted({lab for c in checked for lab in c.item.labels})
    checked, vocabulary = drop_rare_classes(checked, vocabulary, cfg.min_images_per_class, task, report)
    report.raise_if_errors(root)
    if not checked or not vocabulary:
        raise DataError(f"{root}: every image was dropped; see the problems above or relax data.on_problem")
    matrix = label_matrix(checked, vocabulary)
    splits = assign_splits(checked, matrix, cfg, task, seed)
    for split in SPLITS:
        if split not in splits:
            raise DataError(f"{root}: split '{split}' is empty after validation; add images or "
                            "raise data.val_fraction/data.test_fraction")
    for problem in report.dropped:
        log.warning("dropped %s", problem.line())
    with atomic.atomic_dir(out) as tmp:
        manifest = write_prepared(tmp, root, checked, splits, matrix, vocabulary, task, cfg, report)
    metrics = {
        "task": task,
        "num_labels": len(vocabulary),
        "images": {s: manifest["splits"][s]["images"] for s in SPLITS},
        "class_counts": {s: manifest["splits"][s]["class_counts"] for s in SPLITS},
        "no_label": {s: manifest["splits"][s]["no_label"] for s in SPLITS},
        "dropped": report.counts(),
        "found": len(items),
        "skipped": listing.skipped,
        "source": str(root.resolve()),
    }
    return PrepareResult(manifest, metrics)
