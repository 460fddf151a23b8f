"""evaluate: not implemented yet (issue #6); the pipeline graph already declares it."""

from distillery.config import Params
from distillery.errors import StageNotImplementedError
from distillery.stage import run_stage


def evaluate(params: Params) -> None:
    raise StageNotImplementedError("the evaluate stage is not implemented yet (issue #6)")


if __name__ == "__main__":
    run_stage("evaluate", evaluate)
