"""No credential is ever tracked or recorded: .dvc/config carries endpoints only; local secrets are ignored;
MLflow runs and stage logs never see them."""

from __future__ import annotations

import configparser
import json
import sqlite3
import subprocess

from tests.conftest import REPO
from tests.workdir import Workdir


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and (REPO / f).is_file()]


def test_secret_files_are_git_ignored() -> None:
    for path in (".dvc/config.local", ".s3/credentials.json", ".env", "mlflow.db"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0, path


def test_dvc_config_names_the_buckets_but_no_endpoint_or_credentials() -> None:
    """The endpoint is the machine's business (.dvc/config.local, or AWS_ENDPOINT_URL_S3, which DVC's
    S3 client honours only when no endpointurl is configured)."""
    parser = configparser.ConfigParser()
    parser.read(REPO / ".dvc" / "config")
    remotes = {s.split('"')[1]: dict(parser[s]) for s in parser.sections() if s.startswith("'remote")}
    assert remotes["storage"]["url"] == "s3://dvcstore"
    assert remotes["models"]["url"] == "s3://models"
    for remote in remotes.values():
        assert not {"endpointurl", "access_key_id", "secret_access_key", "session_token"} & set(remote)


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


def test_an_mlflow_run_with_credentials_in_the_environment_records_none(tmp_path, s3_server) -> None:
    work = Workdir(tmp_path, {"tracking.enabled": True, "train.epochs": 2})
    work.use_s3(s3_server)
    work.prepare((64, 24, 24))
    result = work.stage("train")
    db = sqlite3.connect(work.root / "mlflow.db")
    tables = [name for (name,) in db.execute("select name from sqlite_master where type = 'table'")]
    assert "params" in tables and db.execute("select count(*) from params").fetchone()[0] > 0
    recorded = [result.stdout, result.stderr, *(str(db.execute(f"select * from {t}").fetchall()) for t in tables)]
    recorded += [p.read_bytes().decode("latin-1") for p in (work.root / "mlruns").rglob("*") if p.is_file()]
    for secret in (s3_server.access_key, s3_server.secret_key):
        assert not any(secret in text for text in recorded), "a credential reached the MLflow run or the logs"


def test_the_local_dvc_config_holding_the_secret_is_private(tmp_path, s3_server) -> None:
    from distillery.remote.dvc_config import configure_dvc

    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_bytes((REPO / ".dvc" / "config").read_bytes())
    (tmp_path / ".dvc" / "config.local").write_text("")
    (tmp_path / ".dvc" / "config.local").chmod(0o644)  # as an older version left it
    path = configure_dvc(s3_server, tmp_path)
    assert s3_server.secret_key in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
