"""export: not implemented yet (issue #6); the pipeline graph already declares it."""

from distillery.config import Params
from distillery.errors import StageNotImplementedError
from distillery.stage import run_stage


def export(params: Params) -> None:
    raise StageNotImplementedError("the export stage is not implemented yet (issue #6)")


if __name__ == "__main__":
    run_stage("export", export)
