"""DVC's promise holds in the code: each stage's deps cover every project file it runs, and the layers hold.

The import closure of each stage is computed statically (``distillery.deps``); a module a stage runs
that no ``deps:`` entry covers would leave a stale output that DVC calls up to date.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

from distillery.deps import ROOTS, imported_modules, imports_in, module_file, stage_coverage
from tests.conftest import REPO

# Stage packages in pipeline order: none may import a later one; tasks and the libraries import none.
STAGE_PACKAGES = ("distillery.data", "distillery.remote", "distillery.train", "distillery.quantize",
                  "distillery.evaluate", "distillery.export")
LIBRARIES = ("distillery.tasks", "distillery.models", "distillery.artifacts", "distillery.runners",
             "distillery.runtime", "distillery.config", "distillery.atomic", "distillery.errors")


def test_every_stage_s_deps_cover_the_code_it_runs() -> None:
    missing = {r.stage: [p.relative_to(REPO).as_posix() for p in r.missing] for r in stage_coverage(REPO) if r.missing}
    assert not missing, f"stage -> files it runs that are not deps in dvc.yaml: {missing}"


def test_the_closure_follows_lazy_imports_and_the_task_registry() -> None:
    coverage = next(r for r in stage_coverage(REPO) if r.stage == "train")
    train = {p.relative_to(REPO).as_posix() for p in coverage.closure}
    assert "src/distillery/data/prepared.py" in train  # sets the batch order; DVC used to miss it
    assert "src/distillery/tasks/classification/losses.py" in train  # the task's training part, by name
    assert "src/distillery/tasks/classification/bundle.py" not in train  # its export part is not train's


def test_removing_a_deps_line_fails_naming_the_stage_and_the_file(tmp_path) -> None:
    text = (REPO / "dvc.yaml").read_text()
    line = "      - src/distillery/train/loop.py\n"
    assert line in text
    (tmp_path / "dvc.yaml").write_text(text.replace(line, "", 1))
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    for folder in ROOTS.values():
        (tmp_path / folder).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    result = subprocess.run([sys.executable, "-m", "distillery.deps"], cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert "train: 1 of" in result.stdout and "      - src/distillery/train/loop.py    # imported by" in result.stdout
    ok = subprocess.run([sys.executable, "-m", "distillery.deps"], cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout


def _module_level_imports() -> dict[str, set[str]]:
    """Project module -> project modules it imports at import time (function bodies excluded)."""
    graph: dict[str, set[str]] = {}
    for top, folder in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([top, *parts])
            tree = ast.parse(path.read_text())
            tree.body = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
            graph[name] = {imported for imported in imports_in(tree, name, path.name == "__init__.py", REPO)
                           if module_file(imported, REPO) is not None}
    return graph


def test_no_import_cycles_at_import_time() -> None:
    graph = _module_level_imports()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join([*trail, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def _imports_anywhere() -> dict[str, set[str]]:
    graph = {}
    for top, folder in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder).with_suffix("")
            name = ".".join([top, *[p for p in rel.parts if p != "__init__"]])
            graph[name] = imported_modules(path, name, REPO)
    return graph


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_no_stage_package_imports_a_later_one_and_libraries_import_none() -> None:
    offences = []
    for module, imports in _imports_anywhere().items():
        for imported in imports:
            for i, package in enumerate(STAGE_PACKAGES):
                if not _in(imported, package) or _in(module, package):
                    continue
                later = any(_in(module, earlier) for earlier in STAGE_PACKAGES[: i])
                library = any(_in(module, lib) for lib in LIBRARIES) and package != "distillery.data"
                if later or library:
                    offences.append(f"{module} imports {imported}")
    assert not offences, offences
