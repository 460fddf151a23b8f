"""``python -m distillery.doctor`` (``make check``): is this checkout ready for ``dvc repro``?

One line per check, each failure with the command that fixes it:

- ``params``   params.yaml is valid;
- ``data``     ``paths.raw`` holds a layout prepare can read (no image is decoded: prepare does that);
- ``server``   the S3 endpoint answers, ``credentials`` it accepts them, ``bucket`` the bucket exists;
- ``dvc``      DVC's remotes point at the same endpoint with credentials (``.dvc/config.local``);
- ``teacher`` / ``student``  the pretrained folders pull_pretrained depends on are published;
- notes: params that still hold the demo's defaults while the data is not the demo's, and a
  pipeline that has not run in this clone yet (``dvc status`` then lists every output).

Exit status 1 when any check fails, else 0.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from distillery import config
from distillery.errors import DistilleryError
from distillery.remote import settings as s3settings
from distillery.remote.client import AUTH_CODES, TRANSIENT, error_code, is_missing, make_client
from distillery.remote.publish import is_published
from distillery.tasks import get_task
from distillery.tasks.base import DataSurvey


@dataclass(frozen=True)
class Finding:
    status: str  # ok | FAIL | note
    subject: str
    message: str
    fix: str = ""

    def line(self) -> str:
        fix = f"  ->  fix: {self.fix}" if self.fix else ""
        return f"{self.status:<5} {self.subject:<12} {self.message}{fix}"


def check_data(params: config.Params) -> tuple[Finding, DataSurvey | None]:
    raw = params.paths.raw
    try:
        task = get_task(params.task)
        survey = task.survey(getattr(params, task.data_section), raw)
    except DistilleryError as exc:
        return Finding("FAIL", "data", str(exc), "put your images in one of the layouts of README 'Using your own "
                                                 "data' and point paths.raw at them (`make data`: the demo's)"), None
    return Finding("ok", "data", f"{raw}: {survey.summary}"), survey


def check_server(s3, settings: s3settings.S3Settings, bucket: str) -> Finding:
    """One request that tells apart: nothing listening, credentials refused, bucket missing, all well."""
    local = s3settings.is_local(settings.endpoint_url)
    try:
        s3.head_bucket(Bucket=bucket)
    except TRANSIENT:
        return Finding("FAIL", "server", f"nothing answers at {settings.endpoint_url} ({settings.origin})",
                       "`make s3-up`" if local else "start that server, or point S3_ENDPOINT_URL at yours")
    except ClientError as exc:
        code = error_code(exc)
        if code in AUTH_CODES:
            fix = ("export the right AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or unset them to use "
                   ".dvc/config.local" if settings.keys_from_environment else
                   f"fix the keys of {settings.keys_origin} in ~/.aws/credentials, or unset AWS_PROFILE"
                   if settings.keys_origin.startswith("profile") else
                   "`make s3-up` (rewrites .dvc/config.local from .s3/credentials.json)" if local else
                   "export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, then `python -m distillery.remote configure-dvc`")
            return Finding("FAIL", "credentials", f"{settings.endpoint_url} refuses access key "
                                                  f"{settings.access_key!r} ({code}; {settings.origin})", fix)
        if is_missing(exc):
            return Finding("FAIL", "bucket", f"no bucket {bucket!r} at {settings.endpoint_url}",
                           "`make s3-up`" if local else f"create {bucket!r} (versioning on) on your server")
        return Finding("FAIL", "server", f"{settings.endpoint_url}: {code or exc}", "see README 'Troubleshooting'")
    return Finding("ok", "server", f"{settings.endpoint_url} accepts access key {settings.access_key!r}, "
                                   f"bucket {bucket!r} present ({settings.origin})")


def dvc_endpoint_and_key() -> tuple[str | None, str | None]:
    """What DVC's S3 client will use: its config first, then what botocore reads from the environment
    and the AWS files (``S3_ENDPOINT_URL``, this project's alias, is not among them)."""
    dvc = s3settings.dvc_remote_settings()
    profile = s3settings.profile_settings(os.environ.get("AWS_PROFILE"))
    endpoint = (dvc.get("endpointurl") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                or profile.get("endpoint_url"))
    key = dvc.get("access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID") or profile.get("aws_access_key_id")
    return endpoint, key


def check_dvc(settings: s3settings.S3Settings) -> Finding:
    """DVC resolves its remotes on its own: they must name the server and keys this code uses."""
    endpoint, key = dvc_endpoint_and_key()
    local = s3settings.is_local(settings.endpoint_url)
    fix = "`make s3-up`" if local else "`python -m distillery.remote configure-dvc`"
    if (endpoint, key) != (settings.endpoint_url, settings.access_key):
        return Finding("FAIL", "dvc", f"DVC would use {endpoint or 'AWS itself'} with access key {key!r}, this code "
                                      f"{settings.redacted()}", fix)
    return Finding("ok", "dvc", "the DVC remotes use the same endpoint and access key")


def check_weights(s3, params: config.Params, role: str, key: str, family: str, size: str) -> Finding:
    bucket, prefix, name = params.remote.bucket, params.remote.prefix, f"{family}/{size}"
    where = f"s3://{bucket}/{prefix}/{name}/"
    if is_published(s3, bucket, prefix, name):
        return Finding("ok", role, f"{where} is published")
    fixes = [f"`python -m distillery.remote publish PATH --name {name}` (README 'Bring your own pretrained weights')"]
    from distillery.demo_weights import DEFAULT_FAMILY, RECIPES

    if (family, size) in RECIPES:
        option = "" if family == DEFAULT_FAMILY else f"--family {family} "
        fixes.insert(0, f"`python -m distillery.demo_weights {option}--sizes {size}` (demo weights)")
    return Finding("FAIL", role, f"nothing published at {where} ({key}.family/{key}.size; pull_pretrained depends "
                                 "on it even with pretrained: false)", " or ".join(fixes))


def demo_default_notes(params: config.Params) -> list[Finding]:
    return [Finding("note", key, f"still the demo's {value!r}: {why}")
            for key, (value, why) in get_task(params.task).demo_defaults.items()
            if functools.reduce(getattr, key.split("."), params) == value]


def pipeline_note(params: config.Params) -> Finding | None:
    if Path("dvc.lock").is_file() and not params.paths.prepared.exists():
        return Finding("note", "pipeline", "not run in this clone yet: until the first `dvc repro`, `dvc status` "
                                           "lists every output as 'not in cache' (expected, not an error)")
    return None


def findings(params: config.Params) -> list[Finding]:
    data, survey = check_data(params)
    found = [Finding("ok", "params", f"{config.params_file()} is valid (task {params.task})"), data]
    found += check_remote(params)
    if survey is not None and not survey.demo_data:
        found += demo_default_notes(params)
    return [*found, *filter(None, [pipeline_note(params)])]


def check_remote(params: config.Params) -> list[Finding]:
    try:
        settings = s3settings.resolve()
    except DistilleryError as exc:
        return [Finding("FAIL", "credentials", str(exc), "`make s3-up`")]
    s3 = make_client(settings, attempts=1)
    server = check_server(s3, settings, params.remote.bucket)
    found = [server, check_dvc(settings)]
    if server.status == "ok":
        found += [check_weights(s3, params, "teacher", "model", params.model.family, params.model.size),
                  check_weights(s3, params, "student", "distill.student", params.distill.student.family,
                                params.distill.student.size)]
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distillery.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=None, help="default: the pipeline's ($DISTILLERY_PIPELINE)")
    args = parser.parse_args(argv)
    args.params = args.params or config.params_file()
    try:
        params = config.load(args.params)
    except DistilleryError as exc:
        print(Finding("FAIL", "params", str(exc), f"edit {args.params}").line())
        sys.exit(1)
    results = findings(params)
    for finding in results:
        print(finding.line())
    failed = [f.subject for f in results if f.status == "FAIL"]
    pipeline = config.pipeline_file()
    repro = "dvc repro" if pipeline == Path(config.PIPELINE_FILE) else f"dvc repro {pipeline}"
    print(f"\n{len(failed)} problem(s): {', '.join(failed)}" if failed else f"\nready: `{repro}`")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
