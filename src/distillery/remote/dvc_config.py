"""Point DVC's remotes at the resolved server: ``.dvc/config.local`` (git-ignored), never ``.dvc/config``."""

from __future__ import annotations

from pathlib import Path

from distillery.remote.settings import S3Settings

REMOTES = ("storage", "models")


def configure_dvc(settings: S3Settings, repo: Path = Path(".")) -> Path:
    """Write endpoint and credentials for both DVC remotes into the repo's local config (mode 0600).

    The file is created private before the secret goes in, and made private again after DVC's
    rewrite, so no moment exists where other users of the machine could read it.
    """
    from dvc.config import Config

    path = repo / ".dvc" / "config.local"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    config = Config(dvc_dir=str(repo / ".dvc"))
    with config.edit("local") as local:
        for remote in REMOTES:
            section = local["remote"].setdefault(remote, {})
            section["endpointurl"] = settings.endpoint_url
            section["access_key_id"] = settings.access_key
            section["secret_access_key"] = settings.secret_key
    path.chmod(0o600)
    return path
