"""Downloading published weights: content-addressed cache, sha256 check, retries, atomic output.

A file is fetched only when the local cache lacks its sha256 (as listed in the published
``checksums.json``), so a second pull of the same object transfers no body. Downloads go to a
temp file named after this process, are verified, then renamed into the cache; the output
folder is assembled (copies, so editing it can never corrupt the cache) beside its target and
swapped in whole; its ``source.json`` names contents, not versions, so republishing identical
bytes changes nothing downstream. A killed pull leaves neither a
partial file in the output nor an unverified file in the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.client import BaseClient
from botocore.exceptions import ClientError, IncompleteReadError, ResponseStreamingError
from s3transfer.exceptions import RetriesExceededError
from tqdm import tqdm

from distillery import atomic
from distillery.errors import RemoteError
from distillery.remote import client as s3client
from distillery.remote.layout import CHECKSUMS, folder_key, s3_url
from distillery.remote.settings import S3Settings

log = logging.getLogger(__name__)

RETRYABLE = (*s3client.TRANSIENT, RetriesExceededError, ResponseStreamingError, IncompleteReadError)
TRANSFER = TransferConfig(multipart_threshold=64 * 2**20, multipart_chunksize=16 * 2**20, max_concurrency=8)
SOURCE_FILE = "source.json"
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_CHECKSUMS_BYTES = 4 * 2**20


@dataclass(frozen=True)
class PulledFile:
    object: str
    version: str
    etag: str
    bytes: int
    sha256: str
    seconds: float
    from_cache: bool


def sha256_of(path: Path, chunk: int = 4 * 2**20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class WeightsCache:
    """Files stored by sha256 under ``root/sha256/``; incoming downloads under ``root/incoming/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"

    def path(self, sha256: str) -> Path:
        if not SHA256.fullmatch(sha256):
            raise RemoteError(f"{sha256!r} is not a sha256 (64 hex digits); refusing to use it as a cache path")
        return self.root / "sha256" / sha256[:2] / sha256

    def has(self, sha256: str, size: int) -> bool:
        path = self.path(sha256)
        return path.is_file() and path.stat().st_size == size

    def incoming_file(self, name: str) -> Path:
        self.incoming.mkdir(parents=True, exist_ok=True)
        return self.incoming / f"{os.getpid()}-{name}.part"

    def discard_abandoned(self) -> None:
        """Delete incoming files of processes that no longer run (killed downloads)."""
        if not self.incoming.is_dir():
            return
        for part in self.incoming.iterdir():
            pid = part.name.split("-", 1)[0]
            if pid.isdigit() and not atomic.process_alive(int(pid)):
                part.unlink(missing_ok=True)

    def admit(self, part: Path, sha256: str) -> Path:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
        return target


def read_checksums(s3: BaseClient, settings: S3Settings, bucket: str, prefix: str, name: str) -> dict:
    key = folder_key(prefix, name) + CHECKSUMS
    with s3client.explained(settings, s3_url(bucket, key)):
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_CHECKSUMS_BYTES + 1)
        except ClientError as exc:
            if not s3client.is_missing(exc):
                raise
            raise RemoteError(missing_message(s3, bucket, prefix, name, settings)) from None
    return parse_checksums(body, s3_url(bucket, key))


def parse_checksums(body: bytes, where: str) -> dict[str, dict[str, Any]]:
    """``checksums.json`` as published, or a ``RemoteError`` naming what is wrong with it.

    Everything in it comes from whoever can write to the bucket, so nothing is trusted: each file
    name must be a plain relative path inside the folder (it becomes a path on this machine), each
    hash 64 hex digits (it becomes a path in the cache), each size a non-negative integer.
    """
    republish = "republish the folder with `python -m distillery.remote publish`"
    if len(body) > MAX_CHECKSUMS_BYTES:
        raise RemoteError(f"{where}: larger than {MAX_CHECKSUMS_BYTES} bytes; not a checksums file, {republish}")
    try:
        files = json.loads(body.decode("utf-8"))["files"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise RemoteError(f"{where}: not a JSON object with a 'files' mapping; {republish}") from None
    if not isinstance(files, dict) or not files:
        raise RemoteError(f"{where}: 'files' lists no file; {republish}")
    for rel, entry in files.items():
        problem = unsafe_name(rel) or bad_entry(entry)
        if problem:
            raise RemoteError(f"{where}: entry {rel!r} {problem}; the pull stopped and wrote nothing")
    return files


def unsafe_name(rel: str) -> str | None:
    """Why ``rel`` may not become a file inside the output folder, or None when it may."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\\" in rel or any(part in ("", ".", "..") for part in parts):
        return "is not a plain relative path inside the folder"
    if any(not char.isprintable() for char in rel):
        return "has control characters in its name"
    if rel == SOURCE_FILE:
        return f"would overwrite the pull's own {SOURCE_FILE}"
    return None


def bad_entry(entry: Any) -> str | None:
    if not isinstance(entry, dict) or not SHA256.fullmatch(str(entry.get("sha256", ""))):
        return "has no sha256 of 64 hex digits"
    size = entry.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "has no size in bytes"
    return None


def missing_message(s3: BaseClient, bucket: str, prefix: str, name: str, settings: S3Settings) -> str:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix.strip('/')}/")
    published = sorted({obj["Key"][len(prefix) + 1 :].rsplit("/", 1)[0]
                        for obj in listing.get("Contents", []) if obj["Key"].endswith(f"/{CHECKSUMS}")})
    there = ", ".join(published) if published else "nothing"
    return (
        f"no published weights at {s3_url(bucket, folder_key(prefix, name))} on {settings.endpoint_url}; "
        f"published under {prefix}/: {there}. Publish with "
        f"`python -m distillery.remote publish <dir or file> --name {name}` (make demo does it for the demo)"
    )


def download_verified(
    s3: BaseClient, settings: S3Settings, bucket: str, key: str, expected: dict, cache: WeightsCache,
    retries: int,
) -> PulledFile:
    started = time.perf_counter()
    with s3client.explained(settings, s3_url(bucket, key)):
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if not s3client.is_missing(exc):
                raise
            raise RemoteError(f"{s3_url(bucket, key)} is listed in {CHECKSUMS} but missing; republish it") from None
    version = head.get("VersionId") or "null"
    sha, size = expected["sha256"], expected["bytes"]
    if head["ContentLength"] != size:
        raise RemoteError(
            f"{s3_url(bucket, key)} (version {version}) has {head['ContentLength']} bytes where {CHECKSUMS} says "
            f"{size}; nothing was downloaded. The object was changed without republishing: publish it again "
            "with `python -m distillery.remote publish`"
        )
    from_cache = cache.has(sha, size)
    if not from_cache:
        part = cache.incoming_file(sha[:16])
        try:
            with s3client.explained(settings, s3_url(bucket, key)):
                _download_with_retries(s3, settings, bucket, key, version, head["ContentLength"], part, retries)
            actual = sha256_of(part)
            if actual != sha:
                raise RemoteError(
                    f"checksum mismatch for {s3_url(bucket, key)} (version {version}): expected sha256 {sha}, "
                    f"got {actual}; the download was discarded and nothing was cached. The object was "
                    "changed without republishing: publish it again with `python -m distillery.remote publish`"
                )
            cache.admit(part, sha)
        finally:
            part.unlink(missing_ok=True)
    return PulledFile(s3_url(bucket, key), version, head["ETag"].strip('"'), size, sha,
                      round(time.perf_counter() - started, 3), from_cache)


def server_error(exc: ClientError) -> bool:
    """A 5xx answer (InternalError, ServiceUnavailable, SlowDown): a server starting, restarting or overloaded,
    as SeaweedFS answers for a few seconds after a restart; worth another attempt, unlike a 4xx."""
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500


def _download_with_retries(
    s3: BaseClient, settings: S3Settings, bucket: str, key: str, version: str, size: int, part: Path,
    retries: int,
) -> None:
    """Download one object version, retrying transient failures with exponential backoff."""
    extra = {"VersionId": version} if version != "null" else {}
    for attempt in range(retries + 1):
        try:
            with tqdm(total=size, unit="B", unit_scale=True, desc=key.rsplit("/", 1)[-1], mininterval=0.5) as bar:
                s3.download_file(bucket, key, str(part), ExtraArgs=extra, Callback=bar.update, Config=TRANSFER)
            return
        except (*RETRYABLE, ClientError) as exc:
            if isinstance(exc, ClientError) and not server_error(exc):
                raise
            if attempt == retries:
                raise RemoteError(
                    f"cannot download {s3_url(bucket, key)} from {settings.endpoint_url} after {retries + 1} "
                    f"attempt(s) ({exc}); start the local server with `make s3-up`, or set S3_ENDPOINT_URL"
                ) from None
            delay = min(0.5 * 2**attempt, 8.0)
            log.warning("download of %s interrupted (%s); retry %d/%d in %.1f s", key, exc, attempt + 1, retries, delay)
            time.sleep(delay)


def pull_weights(
    s3: BaseClient, settings: S3Settings, bucket: str, prefix: str, name: str, dest: Path, cache_dir: Path,
    retries: int,
) -> list[PulledFile]:
    """Fetch every file of the published ``name`` into ``dest`` (replaced atomically)."""
    cache = WeightsCache(cache_dir)
    cache.discard_abandoned()
    files = read_checksums(s3, settings, bucket, prefix, name)
    base = folder_key(prefix, name)
    pulled = {rel: download_verified(s3, settings, bucket, base + rel, files[rel], cache, retries)
              for rel in sorted(files)}
    with atomic.atomic_dir(dest) as tmp:
        for rel, entry in pulled.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cache.path(entry.sha256), target)
        atomic.write_json(tmp / SOURCE_FILE, {"bucket": bucket, "name": name, "files": {
            rel: {"object": f.object, "sha256": f.sha256, "bytes": f.bytes} for rel, f in pulled.items()}})
    return list(pulled.values())
