"""Every registered task, through the whole chain on tiny data, as timm tests every registered model.

prepare -> a few training epochs -> distill -> quantize -> tune the rule on val -> export -> parity
of the bundle, each through its stage entry point. A task that registers is held to this contract.
"""

from __future__ import annotations

import pytest

from distillery.artifacts.quantized import TARGETS
from distillery.models.registry import FAMILIES
from distillery.tasks import get_task, list_tasks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list_tasks())
def test_the_task_runs_the_whole_chain_and_its_bundle_reproduces_the_pipeline(name, tiny_pipelines) -> None:
    task, work = get_task(name), tiny_pipelines(name)
    for stage in ("evaluate", "export"):
        work.stage(stage)
    primary = task.primary_metric
    assert work.metrics("train")["teacher"]["val"][primary] >= 0.0
    assert primary in work.metrics("distill")["student"]["val"]
    for target in TARGETS:
        assert {"metric_drop", "agreement", "size_ratio"} <= set(work.metrics("quantize")["int8"][target])
    evaluate = work.metrics("evaluate")["bundle"]
    for split in ("test", "val"):  # the shipped model's score, under the task's own name for it (tuned, tflite)
        assert any(primary in scores for scores in evaluate[split].values() if isinstance(scores, dict)), split
    parity = work.metrics("export")["bundle"]["parity"]
    for backend in ("tflite", "onnx"):
        assert parity[backend]["pipeline_agreement_images"] >= 1 - work.params.export.max_disagreement
    bundle = {p.name for p in work.path("export").iterdir()}
    assert {"SHA256SUMS", "inference_config.json", "README.md", *task.bundle_models.values()} <= bundle
    records = {stage: work.record(stage) for stage in ("train", "distill", "quantize", "evaluate", "export")}
    lines = task.summary_lines(records, {"teacher": "t", "student": "s"}, work.path("export"))
    assert len(lines) >= 4 and all(line.strip() for line in lines)


@pytest.mark.parametrize("name", list_tasks())
def test_the_task_declares_families_of_its_own(name) -> None:
    task = get_task(name)
    assert task.families and all(FAMILIES[family].task == name for family in task.families)
    assert task.primary_metric and task.output_name and task.tiny_params


@pytest.mark.parametrize("name", list_tasks())
def test_the_task_surveys_its_example_data_and_names_its_demo_defaults(name, tmp_path) -> None:
    """The readiness check's two task hooks: a look at raw data, and the params tuned for the demo."""
    from distillery import config
    from tests.conftest import REPO

    task = get_task(name)
    task.write_example_data(tmp_path / "raw", task.tiny_images, 3)
    params = config.load(REPO / "params.yaml", task.tiny_params)
    survey = task.survey(getattr(params, task.data_section), tmp_path / "raw")
    assert survey.summary and isinstance(survey.demo_data, bool)
    shipped = config.load(REPO / "params.yaml")
    for key, (value, why) in task.demo_defaults.items():
        node = shipped
        for part in key.split("."):
            node = getattr(node, part)
        assert node == value and why, key  # the shipped params.yaml holds the value the doctor flags
