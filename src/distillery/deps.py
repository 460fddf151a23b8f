"""``python -m distillery.deps``: does each stage's ``deps:`` in dvc.yaml cover the code it runs?

DVC reruns a stage when one of its declared dependencies changes, and only then. A stage whose
code imports a module that is not declared keeps a stale output that DVC calls up to date. This
computes, statically, each stage's import closure inside the project (from ``stages/<name>.py``
through ``src/distillery``, following every ``import`` anywhere in a file, lazy ones included, the
``__init__.py`` of every package on the way, and the modules a registry loads by name, which it
lists in a module-level ``BUILT_IN`` tuple, and the task parts a stage declares in its ``TASK_PARTS``
tuple: ``<task package>.<part>`` for every built-in task) and lists the files no ``deps:`` entry covers
(an entry covers a file when it names the file or a folder above it).

    python -m distillery.deps            # one line per stage; the missing deps lines; exit 1 if any
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOTS = {"stages": Path("stages"), "distillery": Path("src/distillery")}  # top-level package -> folder
TEMPLATE = re.compile(r"\$\{([^}]+)\}")


def module_file(module: str, repo: Path) -> Path | None:
    """The project file that defines ``module`` (a package's ``__init__.py``), or None outside the project."""
    top, *rest = module.split(".")
    if top not in ROOTS:
        return None
    base = repo / ROOTS[top] / Path(*rest) if rest else repo / ROOTS[top]
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _packages_of(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported_modules(path: Path, module: str, repo: Path = Path(".")) -> set[str]:
    """Every module ``path`` imports, as dotted names (``from a import b`` yields ``a`` and ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return imports_in(tree, module, path.name == "__init__.py", repo)


def imports_in(tree: ast.Module, module: str, is_package: bool, repo: Path) -> set[str]:
    """The modules ``tree`` (the source of ``module``) imports anywhere in it."""
    found: set[str] = set(loaded_by_name(tree, repo))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def module_constant(tree: ast.Module, name: str) -> list[str]:
    """The strings of a module-level ``name = ("a", "b", ...)``, or [] when there is none."""
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and isinstance(node.value, ast.Tuple | ast.List)):
            return [elt.value for elt in node.value.elts
                    if isinstance(elt, ast.Constant) and isinstance(elt.value, str)]
    return []


def built_in_tasks(repo: Path) -> list[str]:
    registry = module_file("distillery.tasks", repo)
    return module_constant(ast.parse(registry.read_text(encoding="utf-8")), "BUILT_IN") if registry else []


def loaded_by_name(tree: ast.Module, repo: Path) -> list[str]:
    """Modules imported with importlib: a registry's ``BUILT_IN``, and a stage's ``TASK_PARTS`` of every task."""
    parts = module_constant(tree, "TASK_PARTS")
    return [*module_constant(tree, "BUILT_IN"), *(f"{task}.{part}" for task in built_in_tasks(repo) for part in parts)]


def import_closure(entry: str, repo: Path) -> dict[Path, str]:
    """Project files ``entry`` runs -> the module that first imported each (for the report)."""
    seen: dict[Path, str] = {}
    pending = [(entry, "the entry point")]
    while pending:
        module, via = pending.pop()
        for name in (*_packages_of(module), module):
            path = module_file(name, repo)
            if path is None or path in seen:
                continue
            seen[path] = via
            pending.extend((imported, name) for imported in imported_modules(path, name, repo))
    return seen


def resolve_templates(text: str, params: Mapping[str, Any]) -> str:
    def value(match: re.Match) -> str:
        node: Any = params
        for part in match.group(1).split("."):
            node = node[part]
        return str(node)

    return TEMPLATE.sub(value, text)


def covered(path: Path, deps: Iterable[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


@dataclass(frozen=True)
class StageCoverage:
    stage: str
    closure: dict[Path, str]
    missing: list[Path]


def stage_coverage(repo: Path = Path(".")) -> list[StageCoverage]:
    """For every ``python -m stages.<name>`` stage of dvc.yaml: its closure and what its deps miss."""
    from ruamel.yaml import YAML

    pipeline = YAML(typ="safe").load((repo / "dvc.yaml").read_text(encoding="utf-8"))
    params = YAML(typ="safe").load((repo / "params.yaml").read_text(encoding="utf-8"))
    report = []
    for name, stage in pipeline["stages"].items():
        match = re.fullmatch(r"python -m (stages\.\w+)", stage["cmd"].strip())
        if not match:
            continue
        deps = [repo / resolve_templates(dep if isinstance(dep, str) else next(iter(dep)), params)
                for dep in stage.get("deps", [])]
        closure = import_closure(match.group(1), repo)
        missing = sorted(path for path in closure if not covered(path, deps))
        report.append(StageCoverage(name, closure, missing))
    return report


def main() -> None:
    failed = False
    for result in stage_coverage():
        if not result.missing:
            print(f"{result.stage}: the deps cover all {len(result.closure)} project files it runs")
            continue
        failed = True
        print(f"{result.stage}: {len(result.missing)} of {len(result.closure)} project files it runs are not deps; "
              "add to its deps: in dvc.yaml:")
        for path in result.missing:
            print(f"      - {path.as_posix()}    # imported by {result.closure[path]}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
