"""Publishing weights to ``<prefix>/<name>/`` with checksums, info and a README per folder."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from distillery.errors import RemoteError, WeightsError
from distillery.remote import client as s3client
from distillery.remote.layout import CHECKSUMS, INFO, METADATA_FILES, README, folder_key, s3_url
from distillery.remote.pull import TRANSFER, sha256_of
from distillery.remote.settings import S3Settings

log = logging.getLogger(__name__)


def weight_format(files: list[str]) -> str:
    if "config.json" in files and "model.safetensors" in files:
        return "hf"
    suffixes = {Path(f).suffix for f in files}
    if suffixes & {".safetensors"}:
        return "safetensors"
    if suffixes & {".pth", ".pt", ".bin"}:
        return "pth"
    return "files"


def count_parameters(path: Path) -> int | None:
    """Parameters in a safetensors file, read from its header alone (no tensor is loaded)."""
    if path.suffix != ".safetensors":
        return None
    from safetensors import SafetensorError, safe_open

    total = 0
    try:
        with safe_open(str(path), framework="numpy") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                count = 1
                for dim in handle.get_slice(key).get_shape():
                    count *= dim
                total += count
    except SafetensorError as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({exc}); refusing to publish it") from None
    return total


def local_files(source: Path) -> dict[str, Path]:
    if source.is_file():
        return {source.name: source}
    if source.is_dir():
        files = {p.relative_to(source).as_posix(): p for p in sorted(source.rglob("*")) if p.is_file()}
        if files:
            return files
    raise RemoteError(f"{source}: nothing to publish (expected a weights file or a non-empty folder)")


def leaf_readme(name: str, info: dict[str, Any], checksums: dict[str, dict]) -> str:
    lines = [f"# {name}", "", info.get("description") or "Pretrained weights.", "",
             "| key | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items() if k not in ("description", "files")]
    lines += ["", "| file | bytes | sha256 |", "|---|---|---|"]
    lines += [f"| {f} | {c['bytes']} | `{c['sha256']}` |" for f, c in sorted(checksums.items())]
    lines += ["", f"Pull with `dvc repro pull_pretrained` (model.family/model.size naming `{name}`)."]
    return "\n".join(lines) + "\n"


def publish(
    s3: BaseClient, settings: S3Settings, bucket: str, prefix: str, source: Path, name: str,
    info: dict[str, Any],
) -> dict[str, Any]:
    """Upload ``source`` (a file or a folder) as ``<prefix>/<name>/``; return its info.json.

    A README.md of the source's own (an exported bundle's model card) is kept instead of the generated one.
    Publishing what is already there (same files, same info apart from ``created``) uploads nothing,
    so no object gets a new version and DVC's dependency on the folder stays unchanged.
    """
    files = local_files(source)
    clash = sorted(set(files) & (set(METADATA_FILES) - {README}))
    if clash:
        raise RemoteError(f"{source}: {', '.join(clash)} would clash with the metadata publish writes; rename it")
    checksums = {rel: {"sha256": sha256_of(p), "bytes": p.stat().st_size} for rel, p in files.items()}
    weights = next((p for p in files.values() if p.suffix == ".safetensors"), None)
    full_info = {
        "name": name,
        "format": weight_format(list(files)),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "parameters": count_parameters(weights) if weights else None,
        "bytes": sum(c["bytes"] for c in checksums.values()),
        **info,
    }
    base = folder_key(prefix, name)
    with s3client.explained(settings, s3_url(bucket, base)):
        current = read_json(s3, bucket, base + INFO)
        if read_json(s3, bucket, base + CHECKSUMS) == {"files": checksums} and without_created(current) == (
                without_created(json.loads(json.dumps(full_info)))):
            log.info("%s: these files and this info are what is published; nothing uploaded", s3_url(bucket, base))
            return current
        for rel, path in files.items():
            log.info("uploading %s -> %s", path, s3_url(bucket, base + rel))
            s3.upload_file(str(path), bucket, base + rel, Config=TRANSFER)
        put_json(s3, bucket, base + CHECKSUMS, {"files": checksums})
        put_json(s3, bucket, base + INFO, full_info)
        if README not in files:
            put_text(s3, bucket, base + README, leaf_readme(name, full_info, checksums))
        refresh_folder_readmes(s3, bucket, prefix, name)
    return full_info


def is_published(s3: BaseClient, bucket: str, prefix: str, name: str) -> bool:
    """Whether ``name`` has a checksums.json; other failures (credentials, server) propagate."""
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=folder_key(prefix, name) + CHECKSUMS)
    except ClientError as exc:
        if s3client.is_missing(exc):
            return False
        raise
    return True


def without_created(info: Any) -> Any:
    return {k: v for k, v in info.items() if k != "created"} if isinstance(info, dict) else info


def read_json(s3: BaseClient, bucket: str, key: str) -> Any:
    """The JSON object at ``key``, or None when there is none (or it is not JSON)."""
    from botocore.exceptions import ClientError

    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if s3client.is_missing(exc):
            return None
        raise
    except ValueError:
        return None


def put_json(s3: BaseClient, bucket: str, key: str, obj: Any) -> None:
    put_text(s3, bucket, key, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def put_text(s3: BaseClient, bucket: str, key: str, text: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))


def list_published(s3: BaseClient, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """info.json of every published name under ``prefix``, sorted by name."""
    infos = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix.strip('/')}/"):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(f"/{INFO}"):
                infos.append(json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
    return sorted(infos, key=lambda i: i["name"])


def refresh_folder_readmes(s3: BaseClient, bucket: str, prefix: str, name: str) -> None:
    """Rewrite the README.md of every folder above ``name``, listing the names beneath it."""
    published = [i["name"] for i in list_published(s3, bucket, prefix)]
    parts = name.strip("/").split("/")
    for depth in range(len(parts)):
        folder = "/".join(parts[:depth])
        below = [n for n in published if not folder or n.startswith(folder + "/")]
        title = f"{prefix}/{folder}" if folder else prefix
        body = [f"# {title}", "", "Published weights in this folder (see each one's README.md and info.json):", ""]
        body += [f"- `{n}`" for n in below]
        key = f"{prefix.strip('/')}/{folder + '/' if folder else ''}{README}"
        put_text(s3, bucket, key, "\n".join(body) + "\n")
