"""The training loop: determinism, resume, schedule, augmentation, LoRA."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from distillery import config
from distillery.data.batches import Normalizer
from distillery.data.prepared import PreparedDataset
from distillery.models.checkpoint import ModelMeta, load_model_dir, save_model_dir
from distillery.models.inference import logits_of, predict_outputs
from distillery.models.lora import apply_lora, merge_lora
from distillery.models.registry import create_model
from distillery.tasks import get_task
from distillery.tasks.classification.augment import Augmenter
from distillery.tasks.classification.losses import classification_loss, distillation_loss, soft_target_loss
from distillery.train.loop import FitSettings, Schedule, Trainer
from distillery.train.teacher import task_scorer
from tests.workdir import Workdir


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Workdir:
    work = Workdir(tmp_path_factory.mktemp("loop"), {})
    work.prepare()
    return work


def make_trainer(work: Workdir, checkpoint=None, lora: bool = False, on_epoch=None, **overrides):
    torch.manual_seed(0)
    params = work.params
    data = PreparedDataset.open(work.path("prepared"))
    model = create_model("resnet", "tiny", data.labels, 32, data.task)
    if lora:
        model = apply_lora(model, "resnet", params.train.lora)
    loss = classification_loss("bce")
    settings = FitSettings.from_train(params.train, params.seed, **overrides)
    trainer = Trainer(model, "resnet", settings, lambda m, x, y: loss(logits_of(m, x), y),
                      task_scorer(get_task("classification"), loss, data),
                      Normalizer(params.model.input_mean, params.model.input_std),
                      Augmenter(params.train.augment, 0), checkpoint=checkpoint, run_key="k", lora=lora,
                      on_epoch=on_epoch)
    return trainer, data


def fit(work: Workdir, **kwargs):
    trainer, data = make_trainer(work, **kwargs)
    return trainer, trainer.fit(data.split("train"), data.split("val"))


def test_two_runs_are_identical(tiny) -> None:
    first_trainer, first = fit(tiny)
    second_trainer, second = fit(tiny)
    assert [h.train_loss for h in first.history] == [h.train_loss for h in second.history]
    assert first.val_metrics == second.val_metrics
    for a, b in zip(first_trainer.model.state_dict().values(), second_trainer.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [h.phase for h in first.history] == ["head", "full", "full"]
    assert first.history[-1].train_loss < first.history[0].train_loss


def test_bf16_changes_the_training_steps_and_validation_stays_fp32(tiny) -> None:
    bf16_trainer, bf16 = fit(tiny, precision="bf16")
    _, fp32 = fit(tiny, precision="fp32")
    assert bf16.history[0].train_loss != fp32.history[0].train_loss
    val = PreparedDataset.open(tiny.path("prepared")).split("val")
    outputs = predict_outputs(bf16_trainer.model, val, bf16_trainer.normalizer, logits_of)  # float32, no autocast
    assert bf16_trainer.scorer.metrics(outputs, np.asarray(val.labels)) == bf16.val_metrics


def test_an_interrupted_run_resumes_to_the_same_result(tiny, tmp_path) -> None:
    _, uninterrupted = fit(tiny)

    class Killed(Exception):
        pass

    def die_after_epoch_2(record, metrics, outputs) -> None:
        if record.epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        fit(tiny, checkpoint=tmp_path / "ck.pt", on_epoch=die_after_epoch_2)
    trainer, resumed = fit(tiny, checkpoint=tmp_path / "ck.pt")
    assert resumed.resumed_from_epoch == 1
    assert [h.train_loss for h in resumed.history] == [h.train_loss for h in uninterrupted.history]
    assert resumed.val_metrics == uninterrupted.val_metrics


def test_a_checkpoint_of_another_configuration_is_ignored(tiny, tmp_path) -> None:
    fit(tiny, checkpoint=tmp_path / "ck.pt", epochs=2)
    trainer, data = make_trainer(tiny, checkpoint=tmp_path / "ck.pt")
    trainer.run_key = "other"
    assert trainer.fit(data.split("train"), data.split("val")).resumed_from_epoch == 0


def test_lora_trains_a_small_fraction_and_merges_to_a_plain_model(tiny, tmp_path) -> None:
    trainer, result = fit(tiny, lora=True, epochs=2)
    trained = {n for n, p in trainer.model.named_parameters() if n in trainer.phase_b_names}
    assert trained and all("lora_" in n or "modules_to_save" in n for n in trained)
    assert result.trainable_parameters < result.total_parameters / 2
    merged = merge_lora(trainer.model)
    assert type(merged).__name__ == "ResNetForImageClassification"
    assert not any("lora_" in name for name, _ in merged.named_parameters())
    meta = ModelMeta("resnet", "tiny", "multi_label", [str(d) for d in range(10)], 32, [127.0] * 3, [128.0] * 3, {})
    save_model_dir(merged, meta, tmp_path / "teacher")
    loaded, _ = load_model_dir(tmp_path / "teacher")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(pixel_values=x).logits, merged.eval()(pixel_values=x).logits, atol=1e-5)


def test_lora_fraction_on_the_default_teacher() -> None:
    params = config.load()
    model = apply_lora(create_model("resnet", "base", [str(i) for i in range(10)], 64), "resnet", params.train.lora)
    trainable = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n or "modules_to_save" in n)
    assert trainable < 0.1 * sum(p.numel() for n, p in model.named_parameters() if "original_module" not in n)


def test_schedule_warms_up_then_decays_to_zero() -> None:
    schedule = Schedule("cosine", total_steps=100, warmup_steps=10)
    factors = []
    for _ in range(100):
        factors.append(schedule.factor())
        schedule.step_num += 1
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[55] == pytest.approx(0.5, abs=0.02) and factors[-1] < 0.01
    plateau = Schedule("plateau", 100, 0)
    for metric in (0.5, 0.6, 0.6):
        plateau.end_epoch(metric)
    assert plateau.factor() == 0.5


def test_augmenter_is_seeded_and_keeps_the_value_range() -> None:
    cfg = config.load().train.augment
    x = torch.rand(8, 3, 32, 32) * 255
    a = Augmenter(cfg, 0)(x.clone(), torch.Generator().manual_seed(3))
    b = Augmenter(cfg, 0)(x.clone(), torch.Generator().manual_seed(3))
    c = Augmenter(cfg, 0)(x.clone(), torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 255


def test_distillation_loss_matches_its_definition() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 5), torch.randn(4, 5)
    targets = torch.eye(5)[[0, 1, 2, 3]]
    hard = classification_loss("bce")
    kd = distillation_loss(hard, "multi_label", alpha=0.7, temperature=2.0)
    expected = 0.7 * hard(student, targets) + 0.3 * 4.0 * soft_target_loss(student, teacher, "multi_label", 2.0)
    assert torch.allclose(kd(student, targets, teacher), expected)
    assert float(soft_target_loss(teacher, teacher, "multi_label", 2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(soft_target_loss(teacher, teacher, "single_label", 2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(soft_target_loss(student, teacher, "single_label", 2.0)) > 0


def test_metrics_on_a_known_case() -> None:
    from distillery.tasks.classification.metrics import classification_metrics

    scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.2, 0.6], [0.1, 0.2]])
    targets = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    m = classification_metrics(scores, targets, "multi_label", labels=["a", "b"])
    assert m["per_class"]["a"]["f1"] == 1.0
    assert m["per_class"]["b"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["macro_f1"] == 0.75 and m["no_label_rate"] == 0.25
    assert math.isclose(m["micro_f1"], 2 * 3 / (2 * 3 + 1 + 1))
    single = classification_metrics(scores, targets, "single_label")
    assert single["accuracy"] == 1.0 and single["top5"] == 1.0 and single["macro_f1"] == 1.0
