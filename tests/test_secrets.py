"""No credential is ever tracked: .dvc/config carries endpoints only; local secrets are ignored."""

from __future__ import annotations

import configparser
import json
import subprocess

from tests.conftest import REPO


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and (REPO / f).is_file()]


def test_secret_files_are_git_ignored() -> None:
    for path in (".dvc/config.local", ".s3/credentials.json", ".env", "mlflow.db"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0, path


def test_dvc_config_has_endpoints_but_no_credentials() -> None:
    parser = configparser.ConfigParser()
    parser.read(REPO / ".dvc" / "config")
    remotes = {s.split('"')[1]: dict(parser[s]) for s in parser.sections() if s.startswith("'remote")}
    assert remotes["storage"]["url"] == "s3://models/dvcstore"
    assert remotes["models"]["url"] == "s3://models"
    for remote in remotes.values():
        assert "endpointurl" in remote
        assert not {"access_key_id", "secret_access_key", "session_token"} & set(remote)


def test_no_tracked_file_contains_a_live_credential(s3_server) -> None:
    secrets = {s3_server.access_key, s3_server.secret_key}
    local = REPO / ".s3" / "credentials.json"
    if local.is_file():
        secrets |= set(json.loads(local.read_text()).values())
    assert tracked_files(), "not a git checkout"
    for rel in tracked_files():
        text = (REPO / rel).read_bytes()
        for secret in secrets:
            assert secret.encode() not in text, f"{rel} contains a credential"
