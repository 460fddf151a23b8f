"""How `make test` hands files to its workers (tests/conftest.py): whole files, shared fixtures together."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import xdist_group


def item(path: str, *fixtures: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=f"{path}::test_{len(fixtures)}", fixturenames=list(fixtures))


def test_a_file_is_one_group_and_files_on_the_tiny_pipelines_share_one() -> None:
    items = [item("tests/a.py", "tmp_path"), item("tests/a.py", "tiny_pipelines"), item("tests/a.py"),
             item("tests/b.py", "tiny_quantized", "tiny_pipelines"), item("tests/c.py", "s3_server"),
             item("tests/c.py")]
    assert xdist_group(items) == {"tests/a.py": "tiny_pipelines", "tests/b.py": "tiny_pipelines",
                                  "tests/c.py": "tests/c.py"}
