"""check_params: validate all of params.yaml before any other stage runs.

Under ``dvc repro`` DVC deletes a stage's outputs before running it, so a value refused by the
stage itself (``train.epochs: 0``) used to cost the previous model too. Every stage depends on this
stage's output, so DVC runs it first whenever params.yaml changes; a refused value stops the run
here, with every other output still in place. Its output never changes while the params are
valid, so a params change still reruns only the stages that declare the changed key.
"""

from dataclasses import fields

from distillery import atomic
from distillery.config import Params, params_file
from distillery.stage import log, run_stage
from distillery.tasks import get_task

CHECKED = "check_params.ok"  # in paths.records; not "<stage>.json", so no timing is added to it


TASK_PARTS = ()  # the task parts this stage runs (its DVC deps cover them; distillery.tasks.base)

def check_params(params: Params) -> None:
    get_task(params.task).check_params(params)  # an unknown task fails here, naming the known ones
    sections = [f.name for f in fields(Params)]
    checked = {"file": params_file().as_posix(), "valid": True, "sections": sections}
    atomic.write_json(params.paths.records / CHECKED, checked)
    log.info("%s: every key of %d sections is valid", params_file(), len(sections))


if __name__ == "__main__":
    run_stage("check_params", check_params, scoped=False, parts=TASK_PARTS)
