"""How published weights are laid out in the bucket, shared by publish, pull and list.

``<prefix>/<name>/`` holds the weight files, ``checksums.json`` (sha256 and bytes per file),
``info.json`` (family, size, format, source, created, parameters) and a ``README.md``;
every folder above it has a ``README.md`` listing what is inside.
"""

from __future__ import annotations

CHECKSUMS = "checksums.json"
INFO = "info.json"
README = "README.md"
METADATA_FILES = (CHECKSUMS, INFO, README)


def folder_key(prefix: str, name: str) -> str:
    return f"{prefix.strip('/')}/{name.strip('/')}/"


def s3_url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
