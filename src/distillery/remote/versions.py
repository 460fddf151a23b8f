"""Old object versions in the versioned ``models`` bucket: list and delete the ones superseded long ago.

Versioning keeps every replaced weights file forever. ``python -m distillery.remote prune-versions
--days N`` removes the versions (and delete markers) that stopped being current more than N days
ago, which is what an S3 lifecycle rule ``NoncurrentVersionExpiration: NoncurrentDays: N`` does on a
server that runs lifecycle rules (MinIO: ``mc ilm rule add --noncurrent-expire-days N``); SeaweedFS
does not, and this works on any S3. Current versions are never touched. A version's age counts from
when its successor was written, as S3 defines it for noncurrent versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.client import BaseClient


@dataclass(frozen=True)
class OldVersion:
    key: str
    version_id: str
    noncurrent_since: datetime
    size: int

    def line(self) -> str:
        return (f"{self.key}  version {self.version_id}  noncurrent since "
                f"{self.noncurrent_since:%Y-%m-%d %H:%M}  {self.size / 2**20:.1f} MiB")


def noncurrent_versions(s3: BaseClient, bucket: str, prefix: str) -> Iterator[OldVersion]:
    """Every noncurrent version and delete marker under ``prefix``, with the time it was superseded."""
    entries: dict[str, list[dict]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            entries.setdefault(entry["Key"], []).append(entry)
    for key, versions in sorted(entries.items()):
        versions.sort(key=lambda v: v["LastModified"], reverse=True)
        for newer, older in zip(versions, versions[1:], strict=False):
            yield OldVersion(key, older["VersionId"], newer["LastModified"], older.get("Size", 0))


def prune(s3: BaseClient, bucket: str, prefix: str, days: float, now: datetime, apply: bool) -> list[OldVersion]:
    """The versions noncurrent for more than ``days``; deleted when ``apply``."""
    old = [v for v in noncurrent_versions(s3, bucket, prefix) if v.noncurrent_since < now - timedelta(days=days)]
    if apply:
        for version in old:
            s3.delete_object(Bucket=bucket, Key=version.key, VersionId=version.version_id)
    return old
