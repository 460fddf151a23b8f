"""Where the S3 server is and who we are to it: one answer for the project's code and for DVC.

Each value resolves, first found wins (boto3's conventions, with the project's own configuration
between an explicit choice and the machine-wide defaults):

- endpoint: ``S3_ENDPOINT_URL`` (the project's alias), ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``;
  the ``endpoint_url`` of the profile ``AWS_PROFILE`` names (``~/.aws/config``); the ``endpointurl``
  of the DVC remotes in ``.dvc/config.local`` (written by ``make s3-up`` and ``configure-dvc``); the
  default profile's ``endpoint_url``; ``http://127.0.0.1:9000``;
- credentials: ``AWS_ACCESS_KEY_ID`` + ``AWS_SECRET_ACCESS_KEY``; the keys of the profile
  ``AWS_PROFILE`` names (``~/.aws/credentials`` or ``~/.aws/config``, or the files
  ``AWS_SHARED_CREDENTIALS_FILE`` / ``AWS_CONFIG_FILE`` name); the DVC remotes' keys in
  ``.dvc/config.local``; the local server's generated ``.s3/credentials.json``; the default profile.

So the server a shell's ``dvc`` talks to and the one the stages talk to are the same without any
variable exported, and the environment still overrides both (point DVC at it with ``configure-dvc``).
Nothing here reads a tracked file, and nothing asks an instance-metadata service.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from distillery import atomic
from distillery.errors import RemoteError

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
ENDPOINT_VARIABLES = ("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
LOCAL_STATE_DIR = Path(".s3")
CREDENTIALS_FILE = "credentials.json"
DVC_LOCAL_CONFIG = Path(".dvc") / "config.local"
DVC_REMOTES = ("models", "storage")  # the remotes configure_dvc writes, in the order they are read back


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    endpoint_origin: str = "given"  # where each came from (a variable, a file), for messages
    keys_origin: str = "given"

    @property
    def origin(self) -> str:
        return f"endpoint from {self.endpoint_origin}, keys from {self.keys_origin}"

    @property
    def keys_from_environment(self) -> bool:
        return self.keys_origin.startswith("AWS_")

    def redacted(self) -> str:
        return f"{self.endpoint_url} (access key {self.access_key})"

    def environment(self) -> dict[str, str]:
        """The variables that point a child process (a stage, ``dvc``) at this server."""
        return {"S3_ENDPOINT_URL": self.endpoint_url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key}


def is_local(endpoint: str) -> bool:
    """Whether ``endpoint`` is a server on this machine (the embedded one), not a shared MinIO."""
    from urllib.parse import urlparse

    return urlparse(endpoint).hostname in LOCAL_HOSTS


def local_credentials(state_dir: Path = LOCAL_STATE_DIR, create: bool = False) -> tuple[str, str] | None:
    """The local server's credentials; with ``create``, generate random ones on first use."""
    path = state_dir / CREDENTIALS_FILE
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["access_key"], data["secret_key"]
    if not create:
        return None
    access, secret = f"distillery-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    state_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, {"access_key": access, "secret_key": secret})
    path.chmod(0o600)
    return access, secret


def dvc_remote_settings(path: Path = DVC_LOCAL_CONFIG) -> dict[str, str]:
    """``endpointurl``, ``access_key_id`` and ``secret_access_key`` of the project's DVC remotes in
    ``path`` (the first remote that sets each); empty when the file does not exist."""
    if not path.is_file():
        return {}
    from configobj import ConfigObj, ConfigObjError

    try:
        sections = ConfigObj(str(path), encoding="utf-8", interpolation=False)
    except (ConfigObjError, UnicodeDecodeError) as exc:
        raise RemoteError(f"{path}: cannot be read as DVC configuration ({exc}); fix or delete it, "
                          "then `make s3-up` or `python -m distillery.remote configure-dvc`") from None
    found: dict[str, str] = {}
    for remote in DVC_REMOTES:
        for key, value in sections.get(f'remote "{remote}"', {}).items():
            found.setdefault(key, value)
    return found


def profile_settings(profile: str | None) -> dict[str, str]:
    """``endpoint_url``, ``aws_access_key_id`` and ``aws_secret_access_key`` of an AWS profile from the
    shared files, as boto3 reads them; empty when the files or the values are absent."""
    import botocore.session
    from botocore.credentials import ConfigProvider, CredentialResolver, SharedCredentialProvider
    from botocore.exceptions import BotoCoreError

    session = botocore.session.Session(profile=profile)
    name = profile or "default"
    try:
        found = {"endpoint_url": session.get_scoped_config().get("endpoint_url")}
        resolver = CredentialResolver([
            SharedCredentialProvider(os.path.expanduser(session.get_config_variable("credentials_file")), name),
            ConfigProvider(os.path.expanduser(session.get_config_variable("config_file")), name),
        ])
        credentials = resolver.load_credentials()
    except BotoCoreError as exc:
        if profile is None:
            return {}
        raise RemoteError(f"AWS_PROFILE={profile}: {exc}") from None
    if credentials is not None:
        found |= {"aws_access_key_id": credentials.access_key, "aws_secret_access_key": credentials.secret_key}
    return {key: value for key, value in found.items() if value}


def endpoint_and_origin(config_file: Path = DVC_LOCAL_CONFIG) -> tuple[str, str]:
    for variable in ENDPOINT_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable], variable
    profile = os.environ.get("AWS_PROFILE")
    sources = [(f"profile {profile}", lambda: profile_settings(profile).get("endpoint_url")) if profile else None,
               (str(config_file), lambda: dvc_remote_settings(config_file).get("endpointurl")),
               ("the default AWS profile", lambda: profile_settings(None).get("endpoint_url"))]
    for origin, read in filter(None, sources):
        endpoint = read()
        if endpoint:
            return endpoint, origin
    return DEFAULT_ENDPOINT, "the default"


def resolve_endpoint() -> str:
    return endpoint_and_origin()[0]


def keys_and_origin(state_dir: Path, config_file: Path) -> tuple[str, str, str] | None:
    """(access key, secret key, where they came from), in the order of the module docstring."""

    def pair(values: dict[str, str], access: str, secret: str) -> tuple[str, str] | None:
        return (values[access], values[secret]) if values.get(access) and values.get(secret) else None

    profile = os.environ.get("AWS_PROFILE")
    sources = [
        ("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
         lambda: pair(dict(os.environ), "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        (f"profile {profile}", lambda: pair(profile_settings(profile), "aws_access_key_id", "aws_secret_access_key"))
        if profile else None,
        (str(config_file), lambda: pair(dvc_remote_settings(config_file), "access_key_id", "secret_access_key")),
        (str(state_dir / CREDENTIALS_FILE), lambda: local_credentials(state_dir)),
        ("the default AWS profile",
         lambda: pair(profile_settings(None), "aws_access_key_id", "aws_secret_access_key")),
    ]
    for origin, read in filter(None, sources):
        keys = read()
        if keys:
            return (*keys, origin)
    return None


def resolve(state_dir: Path = LOCAL_STATE_DIR, config_file: Path = DVC_LOCAL_CONFIG) -> S3Settings:
    endpoint, endpoint_origin = endpoint_and_origin(config_file)
    found = keys_and_origin(state_dir, config_file)
    if found is None:
        raise RemoteError(
            f"no S3 credentials for {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
            "or start the local server with `make s3-up` (it generates them)"
        )
    access, secret, keys_origin = found
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return S3Settings(endpoint, access, secret, region, endpoint_origin, keys_origin)
