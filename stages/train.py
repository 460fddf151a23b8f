"""train: not implemented yet (issue #4); the pipeline graph already declares it."""

from distillery.config import Params
from distillery.errors import StageNotImplementedError
from distillery.stage import run_stage


def train(params: Params) -> None:
    raise StageNotImplementedError("the train stage is not implemented yet (issue #4)")


if __name__ == "__main__":
    run_stage("train", train)
