"""A boto3 S3 client, and the translation of its failures into errors a person can act on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from distillery.errors import RemoteError
from distillery.remote.settings import S3Settings

TRANSIENT = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectionError)
AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "Forbidden"}
MISSING_CODES = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}


def make_client(settings: S3Settings, attempts: int = 3) -> BaseClient:
    config = Config(
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=settings.access_key,
        aws_secret_access_key=settings.secret_key,
        region_name=settings.region,
        config=config,
    )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    return error_code(exc) in MISSING_CODES


@contextlib.contextmanager
def explained(settings: S3Settings, what: str) -> Iterator[None]:
    """Turn connection and credential failures inside the block into one clear ``RemoteError``.

    ``what`` names the bucket/key being worked on. Missing objects are left to the caller,
    which knows what to list instead.
    """
    try:
        yield
    except TRANSIENT as exc:
        raise RemoteError(
            f"cannot reach the S3 server at {settings.endpoint_url} ({what}; {settings.origin}): {exc}; "
            "start the local server with `make s3-up`, or set S3_ENDPOINT_URL to your MinIO"
        ) from None
    except ClientError as exc:
        code = error_code(exc)
        if code in AUTH_CODES:
            raise RemoteError(
                f"{settings.endpoint_url} rejected the credentials for access key "
                f"{settings.access_key!r} ({code}, {what}; {settings.origin}); for the local server "
                "`make s3-up` rewrites .dvc/config.local from .s3/credentials.json; for your MinIO set "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, then `python -m distillery.remote configure-dvc`"
            ) from None
        if code == "NoSuchBucket":
            raise RemoteError(
                f"bucket missing at {settings.endpoint_url} ({what}); `make s3-up` creates it "
                "locally, or create it on your MinIO"
            ) from None
        raise
    except BotoCoreError as exc:
        raise RemoteError(f"S3 request to {settings.endpoint_url} failed ({what}): {exc}") from None
