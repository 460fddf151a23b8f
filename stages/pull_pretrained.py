"""pull_pretrained: not implemented yet (issue #3); the pipeline graph already declares it."""

from distillery.config import Params
from distillery.errors import StageNotImplementedError
from distillery.stage import run_stage


def pull_pretrained(params: Params) -> None:
    raise StageNotImplementedError("the pull_pretrained stage is not implemented yet (issue #3)")


if __name__ == "__main__":
    run_stage("pull_pretrained", pull_pretrained)
