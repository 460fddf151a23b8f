"""Whoever can write to the bucket cannot touch this machine: checksums.json is untrusted input.

Each test publishes real weights, then rewrites ``checksums.json`` (and objects) as an attacker with
bucket access would, and pulls. The pull must stop, name the entry, and write nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from distillery.errors import RemoteError
from distillery.remote.publish import publish
from distillery.remote.pull import pull_weights

BUCKET, PREFIX = "models", "pretrained_models"


def _published(s3, settings, hf_weights: Path, name: str) -> tuple[str, dict]:
    publish(s3, settings, BUCKET, PREFIX, hf_weights, name, {"source": "test"})
    key = f"{PREFIX}/{name}/checksums.json"
    return key, json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def _pull(s3, settings, name: str, tmp_path: Path) -> None:
    pull_weights(s3, settings, BUCKET, PREFIX, name, tmp_path / "out", tmp_path / "cache", 0)


def _rewrite(s3, key: str, body: bytes | dict) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body if isinstance(body, bytes) else json.dumps(body).encode())


def test_an_absolute_file_name_writes_nothing_outside(s3, s3_server, hf_weights, tmp_path) -> None:
    key, checksums = _published(s3, s3_server, hf_weights, "evil/absolute")
    target = tmp_path / "elsewhere" / "PWNED.txt"
    payload = b"owned"
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/evil/absolute/{target}", Body=payload)
    checksums["files"][str(target)] = {"sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}
    _rewrite(s3, key, checksums)
    with pytest.raises(RemoteError, match=rf"entry '{target}' is not a plain relative path"):
        _pull(s3, s3_server, "evil/absolute", tmp_path)
    assert not target.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["../up.txt", "a/../../up.txt", "./x", "a//b", "a\\b", "multi\nline",
                                  "source.json"])
def test_names_that_are_not_plain_relative_paths_are_refused(s3, s3_server, hf_weights, tmp_path, name) -> None:
    key, checksums = _published(s3, s3_server, hf_weights, "evil/names")
    checksums["files"][name] = checksums["files"]["config.json"]
    _rewrite(s3, key, checksums)
    with pytest.raises(RemoteError, match="entry .* (is not a plain relative path|control characters|overwrite)"):
        _pull(s3, s3_server, "evil/names", tmp_path)
    assert not (tmp_path / "out").exists()


def test_a_hash_that_is_a_path_copies_no_local_file(s3, s3_server, hf_weights, tmp_path) -> None:
    secret = tmp_path / "credentials.json"
    secret.write_text('{"secret_key": "do-not-ship"}')
    key, checksums = _published(s3, s3_server, hf_weights, "evil/hash")
    checksums["files"]["config.json"]["sha256"] = str(secret)
    _rewrite(s3, key, checksums)
    with pytest.raises(RemoteError, match="entry 'config.json' has no sha256 of 64 hex digits"):
        _pull(s3, s3_server, "evil/hash", tmp_path)
    assert not (tmp_path / "out").exists()


def test_an_object_larger_than_declared_is_not_downloaded(s3, s3_server, hf_weights, tmp_path) -> None:
    key, _ = _published(s3, s3_server, hf_weights, "evil/big")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/evil/big/model.safetensors", Body=b"\0" * (8 * 2**20))
    gets = []
    s3.meta.events.register("provide-client-params.s3.GetObject",
                            lambda params, **_: gets.append(params["Key"]))
    with pytest.raises(RemoteError, match="has 8388608 bytes where checksums.json says"):
        _pull(s3, s3_server, "evil/big", tmp_path)
    assert not any(k.endswith("model.safetensors") for k in gets)
    assert not (tmp_path / "cache" / "incoming").exists() or not any((tmp_path / "cache" / "incoming").iterdir())


@pytest.mark.parametrize("body", [b"not json {", b"{}", b'{"files": {}}', b'{"files": []}', b"", b"\xff\xfe"])
def test_a_checksums_file_that_lists_nothing_usable_is_refused_by_name(s3, s3_server, hf_weights, tmp_path,
                                                                       body) -> None:
    key, _ = _published(s3, s3_server, hf_weights, "evil/shape")
    _rewrite(s3, key, body)
    with pytest.raises(RemoteError, match=r"evil/shape/checksums.json: (not a JSON object|'files' lists no file)"):
        _pull(s3, s3_server, "evil/shape", tmp_path)
    assert not (tmp_path / "out").exists()
