"""The task registry: a task is registered once, and every stage asks here for the one params name.

As timm's model registry: ``register_task`` adds a ``Task`` under its name, ``get_task`` fails with
the list of known names, ``list_tasks`` is what the contract test runs over. The built-in tasks
register on import of their package, listed in ``BUILT_IN``.
"""

from __future__ import annotations

import importlib

from distillery.errors import ConfigError
from distillery.tasks.base import Task

BUILT_IN = ("distillery.tasks.classification", "distillery.tasks.restoration")
_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    if task.name in _TASKS and _TASKS[task.name] is not task:
        raise ValueError(f"task {task.name!r} is registered twice")
    _TASKS[task.name] = task
    return task


def _load_built_in() -> None:
    for module in BUILT_IN:
        importlib.import_module(module)


def list_tasks() -> list[str]:
    _load_built_in()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    _load_built_in()
    try:
        return _TASKS[name]
    except KeyError:
        raise ConfigError(f"task: {name!r} is not a known task; known tasks: {', '.join(sorted(_TASKS))}") from None
