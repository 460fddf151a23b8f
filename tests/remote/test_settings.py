"""Where the project finds its S3 server: the environment, else the DVC config ``make s3-up`` wrote, else defaults."""

from __future__ import annotations

import json
import shutil

import pytest

from distillery.errors import RemoteError
from distillery.remote import settings as s3settings
from distillery.remote.dvc_config import configure_dvc
from tests.dvc_repo import REPO

VARIABLES = (*s3settings.ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """An empty checkout as the working directory, with no S3 variable in the environment."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / ".dvc").mkdir()
    shutil.copy2(REPO / ".dvc" / "config", tmp_path / ".dvc" / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_local_credentials(repo, access: str = "local-key", secret: str = "local-secret") -> None:
    (repo / ".s3").mkdir(exist_ok=True)
    (repo / ".s3" / "credentials.json").write_text(json.dumps({"access_key": access, "secret_key": secret}))


def test_without_configuration_the_default_endpoint_and_the_local_keys(repo) -> None:
    with pytest.raises(RemoteError, match="no S3 credentials for http://127.0.0.1:9000.*make s3-up"):
        s3settings.resolve()
    write_local_credentials(repo)
    settings = s3settings.resolve()
    assert (settings.endpoint_url, settings.access_key) == ("http://127.0.0.1:9000", "local-key")
    assert settings.origin == "endpoint from the default, keys from .s3/credentials.json"


def test_a_new_shell_finds_the_server_and_keys_the_dvc_config_names(repo) -> None:
    write_local_credentials(repo, "stale-local-key")
    configure_dvc(s3settings.S3Settings("http://127.0.0.1:9300", "dvc-key", "dvc-secret"), repo)
    settings = s3settings.resolve()
    assert (settings.endpoint_url, settings.access_key, settings.secret_key) == (
        "http://127.0.0.1:9300", "dvc-key", "dvc-secret")
    assert settings.origin == "endpoint from .dvc/config.local, keys from .dvc/config.local"


@pytest.mark.parametrize("variable", s3settings.ENDPOINT_VARIABLES)
def test_the_environment_overrides_the_dvc_config(repo, monkeypatch, variable) -> None:
    configure_dvc(s3settings.S3Settings("http://127.0.0.1:9300", "dvc-key", "dvc-secret"), repo)
    monkeypatch.setenv(variable, "http://minio.internal:9000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    settings = s3settings.resolve()
    assert (settings.endpoint_url, settings.access_key) == ("http://minio.internal:9000", "env-key")
    assert settings.keys_from_environment and variable in settings.origin


def test_s3_endpoint_url_wins_over_the_aws_variables(repo, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://a:1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://b:2")
    assert s3settings.resolve_endpoint() == "http://b:2"
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://c:3")
    assert s3settings.resolve_endpoint() == "http://c:3"


def test_an_unreadable_dvc_config_is_named(repo) -> None:
    (repo / ".dvc" / "config.local").write_text("['remote \"models\"'\n  endpointurl = \n[[[")
    with pytest.raises(RemoteError, match=r"\.dvc/config\.local: cannot be read as DVC configuration"):
        s3settings.resolve()


def write_aws_files(repo, monkeypatch, credentials: str, aws_config: str = "") -> None:
    (repo / "aws-credentials").write_text(credentials)
    (repo / "aws-config").write_text(aws_config)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(repo / "aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(repo / "aws-config"))


def test_aws_profile_wins_over_the_dvc_config_and_the_default_profile_comes_last(repo, monkeypatch) -> None:
    write_aws_files(repo, monkeypatch,
                    "[default]\naws_access_key_id = default-key\naws_secret_access_key = default-secret\n"
                    "[minio]\naws_access_key_id = minio-key\naws_secret_access_key = minio-secret\n",
                    "[profile minio]\nendpoint_url = http://minio.internal:9000\n")
    configure_dvc(s3settings.S3Settings("http://127.0.0.1:9300", "dvc-key", "dvc-secret"), repo)
    settings = s3settings.resolve()
    assert (settings.endpoint_url, settings.access_key) == ("http://127.0.0.1:9300", "dvc-key")
    monkeypatch.setenv("AWS_PROFILE", "minio")
    settings = s3settings.resolve()
    assert (settings.endpoint_url, settings.access_key, settings.secret_key) == (
        "http://minio.internal:9000", "minio-key", "minio-secret")
    assert settings.origin == "endpoint from profile minio, keys from profile minio"
    (repo / ".dvc" / "config.local").unlink()
    monkeypatch.delenv("AWS_PROFILE")
    assert s3settings.resolve().keys_origin == "the default AWS profile"
    write_local_credentials(repo)
    assert s3settings.resolve().access_key == "local-key"  # the local server's keys before the default profile


def test_an_unknown_profile_is_named(repo, monkeypatch) -> None:
    write_aws_files(repo, monkeypatch, "[default]\n")
    monkeypatch.setenv("AWS_PROFILE", "nope")
    with pytest.raises(RemoteError, match="AWS_PROFILE=nope: The config profile \\(nope\\) could not be found"):
        s3settings.resolve()
