"""``make check`` (``python -m distillery.doctor``): each way a checkout is not ready is one line with its fix."""

from __future__ import annotations

import shutil
import socket

import pytest

from distillery import config, doctor
from distillery.remote import settings as s3settings
from distillery.remote.client import make_client
from distillery.remote.dvc_config import configure_dvc
from distillery.remote.publish import publish
from tests.conftest import write_png
from tests.dvc_repo import REPO

PREFIX = "doctor/pretrained_models"


@pytest.fixture
def checkout(tmp_path, monkeypatch, s3_server, hf_weights):
    """A working directory with a valid class-folder dataset, the server's keys in .dvc/config.local,
    resnet/base and resnet/quarter published; params pointing at all of it."""
    for variable in (*s3settings.ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / ".dvc").mkdir()
    shutil.copy2(REPO / ".dvc" / "config", tmp_path / ".dvc" / "config")
    configure_dvc(s3_server, tmp_path)
    monkeypatch.chdir(tmp_path)
    for c, name in enumerate(("mug", "spoon")):
        for i in range(6):
            write_png(tmp_path / "photos" / name / f"{i}.png", 100 * c + i)
    for size in ("base", "quarter"):
        publish(make_client(s3_server), s3_server, "models", PREFIX, hf_weights, f"resnet/{size}", {"source": "test"})
    return config.load(REPO / "params.yaml", {"paths.raw": str(tmp_path / "photos"), "remote.prefix": PREFIX})


def lines(params) -> dict[str, str]:
    """The doctor's lines by subject."""
    return {finding.subject: finding.line() for finding in doctor.findings(params)}


def failed(params) -> list[str]:
    return [f.subject for f in doctor.findings(params) if f.status == "FAIL"]


def test_a_ready_checkout_passes_and_notes_the_demo_defaults(checkout) -> None:
    found = lines(checkout)
    assert failed(checkout) == []
    assert found["data"].startswith("ok") and "class folders, 12 images, 2 labels (single_label)" in found["data"]
    assert found["teacher"].startswith("ok") and found["student"].startswith("ok")
    assert "still the demo's 0.0" in found["train.augment.hflip"]


def test_server_down(checkout, monkeypatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    found = lines(checkout)
    assert failed(checkout) == ["server", "dvc"]  # nothing answers; DVC points elsewhere
    assert f"nothing answers at http://127.0.0.1:{port} (endpoint from S3_ENDPOINT_URL" in found["server"]
    assert found["server"].endswith("fix: `make s3-up`")


def test_wrong_credentials(checkout, monkeypatch, s3_server) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    found = lines(checkout)
    assert failed(checkout) == ["credentials"]
    assert f"refuses access key '{s3_server.access_key}'" in found["credentials"]
    assert "fix: export the right AWS_ACCESS_KEY_ID" in found["credentials"]


def test_teacher_weights_missing(checkout) -> None:
    params = config.load(REPO / "params.yaml", {"paths.raw": str(checkout.paths.raw), "remote.prefix": PREFIX,
                                                "model.size": "small"})
    found = lines(params)
    assert failed(params) == ["teacher"]
    assert f"nothing published at s3://models/{PREFIX}/resnet/small/" in found["teacher"]
    assert "fix: `python -m distillery.demo_weights --sizes small`" in found["teacher"]


def test_student_weights_missing(checkout) -> None:
    params = config.load(REPO / "params.yaml", {"paths.raw": str(checkout.paths.raw), "remote.prefix": PREFIX,
                                                "distill.student.family": "mobilenet_v2",
                                                "distill.student.size": "tiny"})
    found = lines(params)
    assert failed(params) == ["student"]
    assert f"nothing published at s3://models/{PREFIX}/mobilenet_v2/tiny/" in found["student"]
    assert "demo_weights" not in found["student"]  # no demo weights for that family: publish your own
    assert "fix: `python -m distillery.remote publish PATH --name mobilenet_v2/tiny`" in found["student"]


def test_an_invalid_data_folder(checkout) -> None:
    photos = checkout.paths.raw
    (photos / "train").mkdir()  # split folders beside class folders: ambiguous
    write_png(photos / "train" / "mug" / "x.png", 999)
    found = lines(checkout)
    assert failed(checkout) == ["data"]
    assert found["data"].startswith(f"FAIL  data         {photos}")
    assert "fix: put your images in one of the layouts" in found["data"]


def test_the_command_exits_1_on_a_problem_and_prints_one_line_each(checkout, capsys) -> None:
    (checkout.paths.raw / "spoon").rename(checkout.paths.raw / "..spoon")  # one class left, below the minimum
    for mug in list((checkout.paths.raw / "mug").iterdir())[2:]:
        mug.unlink()
    shutil.copy2(REPO / "params.yaml", "params.yaml")
    config_lines = f"  raw: {checkout.paths.raw}\n"
    text = (REPO / "params.yaml").read_text().replace("  raw: data/raw ", config_lines.rstrip("\n") + " ", 1)
    (checkout.paths.raw.parent / "params.yaml").write_text(text.replace("prefix: pretrained_models",
                                                                        f"prefix: {PREFIX}"))
    with pytest.raises(SystemExit) as stopped:
        doctor.main([])
    out = capsys.readouterr().out
    assert stopped.value.code == 1
    assert "FAIL  data" in out and "fewer than data.min_images_per_class=5" in out
    assert out.rstrip().endswith("1 problem(s): data")
