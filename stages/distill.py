"""distill: not implemented yet (issue #5); the pipeline graph already declares it."""

from distillery.config import Params
from distillery.errors import StageNotImplementedError
from distillery.stage import run_stage


def distill(params: Params) -> None:
    raise StageNotImplementedError("the distill stage is not implemented yet (issue #5)")


if __name__ == "__main__":
    run_stage("distill", distill)
