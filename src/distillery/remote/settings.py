"""Where the S3 server is and who we are to it: one answer for the project's code and for DVC.

Each value resolves, first found wins:

- endpoint: ``S3_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL`` (the variables awscli and
  boto3 honour), then the ``endpointurl`` of the DVC remotes in ``.dvc/config.local`` (written by
  ``make s3-up`` and ``configure-dvc``), then ``http://127.0.0.1:9000``;
- credentials: ``AWS_ACCESS_KEY_ID`` + ``AWS_SECRET_ACCESS_KEY``, then the DVC remotes' keys in
  ``.dvc/config.local``, then the local server's generated ``.s3/credentials.json``.

So the server a shell's ``dvc`` talks to and the one the stages talk to are the same without any
variable exported, and the environment still overrides both (point DVC at it with ``configure-dvc``).
Nothing here reads a tracked file.
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


def endpoint_and_origin(config_file: Path = DVC_LOCAL_CONFIG) -> tuple[str, str]:
    for variable in ENDPOINT_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable], variable
    endpoint = dvc_remote_settings(config_file).get("endpointurl")
    if endpoint:
        return endpoint, str(config_file)
    return DEFAULT_ENDPOINT, "the default"


def resolve_endpoint() -> str:
    return endpoint_and_origin()[0]


def resolve(state_dir: Path = LOCAL_STATE_DIR, config_file: Path = DVC_LOCAL_CONFIG) -> S3Settings:
    endpoint, endpoint_origin = endpoint_and_origin(config_file)
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    keys_origin = "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
    if not (access and secret):
        dvc = dvc_remote_settings(config_file)
        access, secret, keys_origin = dvc.get("access_key_id"), dvc.get("secret_access_key"), str(config_file)
    if not (access and secret):
        local = local_credentials(state_dir)
        if local is None:
            raise RemoteError(
                f"no S3 credentials for {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or start the local server with `make s3-up` (it generates them)"
            )
        (access, secret), keys_origin = local, str(state_dir / CREDENTIALS_FILE)
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return S3Settings(endpoint, access, secret, region, endpoint_origin, keys_origin)
