"""Per-item checks and the problem report.

Every problem has a kind (a key of ``data.on_problem``), the file, a detail and where the item
was declared. The policy for its kind decides: ``drop`` removes the item and lists it in the
report; ``error`` fails the stage, after every item has been checked, with the whole report.
"""

from __future__ import annotations

import hashlib
import io
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from distillery.data.images import ImageProblem, decode_rgb
from distillery.data.sources import Item, shown
from distillery.errors import DataError

MAX_LISTED = 30


@dataclass(frozen=True)
class Problem:
    kind: str
    path: str
    detail: str
    origin: str

    def line(self) -> str:
        return f"{self.kind}: {shown(self.path)} ({self.detail}) [{self.origin}]"


@dataclass(frozen=True)
class Checked:
    """An item whose file decoded fine, with its content hash."""

    item: Item
    sha256: str
    width: int
    height: int


def resolve_inside(root: Path, rel: str) -> Path | None:
    """The file ``rel`` names under ``root``, or None when it escapes ``root``."""
    if not rel or Path(rel).is_absolute():
        return None
    path = (root / rel).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def check_labels(item: Item, task: str, vocabulary: frozenset[str] | None) -> Problem | None:
    if any(not label for label in item.labels):
        return Problem("empty_label", item.path, "an empty label between separators", item.origin)
    if task == "single_label" and len(item.labels) != 1:
        detail = f"single-label task needs exactly one label, got {len(item.labels)}"
        return Problem("empty_label", item.path, detail, item.origin)
    if vocabulary is not None:
        unknown = sorted(set(item.labels) - vocabulary)
        if unknown:
            detail = f"label(s) {', '.join(unknown)} not in data.labels"
            return Problem("unknown_label", item.path, detail, item.origin)
    return None


def check_file(root: Path, item: Item, min_side: int, max_pixels: int) -> Checked | Problem:
    """Containment, full decode and size checks for one item (runs in worker processes)."""
    path = resolve_inside(root, item.path)
    if path is None:
        return Problem("outside_root", item.path, f"path escapes the data root {root}", item.origin)
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            return Problem("unreadable", item.path, "not a regular file", item.origin)
        data = path.read_bytes()
    except OSError as exc:
        return Problem("unreadable", item.path, f"cannot read file ({exc.strerror})", item.origin)
    try:
        image = decode_rgb(io.BytesIO(data), max_pixels, size=len(data))
    except ImageProblem as exc:
        return Problem("unreadable", item.path, str(exc), item.origin)
    width, height = image.size
    if min(width, height) < min_side:
        detail = f"{width}x{height} is below data.min_side={min_side}"
        return Problem("too_small", item.path, detail, item.origin)
    return Checked(item, hashlib.sha256(data).hexdigest(), width, height)


class Report:
    """Problems found so far, split by policy into dropped items and errors."""

    def __init__(self, policy: Any) -> None:
        """``policy``: a dataclass of ``Policy`` per problem kind (``ProblemPolicy``, or a task's own)."""
        self.policy = policy
        self.dropped: list[Problem] = []
        self.errors: list[Problem] = []

    def add(self, problem: Problem) -> None:
        if getattr(self.policy, problem.kind) == "error":
            self.errors.append(problem)
        else:
            self.dropped.append(problem)

    def raise_if_errors(self, source: Path) -> None:
        """One problem: one line naming it; several: a header and one line each (the first MAX_LISTED)."""
        if not self.errors:
            return
        kinds = sorted({p.kind for p in self.errors})
        fix = ", ".join(f"data.on_problem.{k}: drop" for k in kinds)
        if len(self.errors) == 1:
            raise DataError(f"{source}: {self.errors[0].line()}; fix the file, or set {fix}")
        lines = [p.line() for p in self.errors[:MAX_LISTED]]
        if len(self.errors) > MAX_LISTED:
            lines.append(f"... and {len(self.errors) - MAX_LISTED} more")
        raise DataError(
            f"{source}: {len(self.errors)} problem(s) with policy 'error' "
            f"(fix the files, or set {fix}):\n  " + "\n  ".join(lines)
        )

    def counts(self) -> dict[str, int]:
        kinds = type(self.policy).__dataclass_fields__  # a task's own policy may name other kinds
        return {kind: sum(p.kind == kind for p in self.dropped) for kind in kinds}

    def to_json(self) -> dict:
        return {"dropped": [asdict(p) for p in self.dropped]}
