"""Where the S3 server is and who we are to it: from the environment, never from a tracked file.

Resolution order for each value: the environment (``S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``), then the credentials file the local server generated on its first
start (``.s3/credentials.json``, git-ignored, mode 0600). Pointing at a real MinIO is therefore a
matter of environment alone.
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
LOCAL_STATE_DIR = Path(".s3")
CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

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


def resolve_endpoint() -> str:
    return os.environ.get("S3_ENDPOINT_URL") or DEFAULT_ENDPOINT


def resolve(state_dir: Path = LOCAL_STATE_DIR) -> S3Settings:
    endpoint = resolve_endpoint()
    access = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not (access and secret):
        local = local_credentials(state_dir)
        if local is None:
            raise RemoteError(
                f"no S3 credentials for {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or start the local server with `make s3-up` (it generates them)"
            )
        access, secret = local
    return S3Settings(endpoint, access, secret, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
