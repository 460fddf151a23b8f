"""``python -m distillery.remote``: the local S3 server, publishing and listing weights.

  server start|stop|status   the embedded SeaweedFS S3 server (make s3-up / s3-down)
  publish PATH --name NAME   upload a weights file or folder to <prefix>/<NAME>/
  list                       what the bucket holds under <prefix>/
  configure-dvc              write endpoint + credentials into .dvc/config.local
  prune-versions --days N    delete versions of the bucket superseded more than N days ago (--apply)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from distillery import config
from distillery.errors import DistilleryError
from distillery.remote import settings as s3settings
from distillery.remote.client import explained, make_client
from distillery.remote.dvc_config import configure_dvc
from distillery.remote.publish import list_published, publish
from distillery.remote.server import BUCKETS, LocalS3


def server(args: argparse.Namespace) -> None:
    endpoint, origin = s3settings.endpoint_and_origin()
    if not s3settings.is_local(endpoint):
        print(f"the endpoint is {endpoint} (from {origin}), not this machine: using that server, "
              f"no local one to {args.action}")
        return
    local = LocalS3.for_endpoint(endpoint)
    if args.action == "start":
        settings = local.start()
        written = configure_dvc(settings)
        buckets = ", ".join(f"{name} (versioned)" if versioned else name for name, versioned in BUCKETS.items())
        print(f"local S3 server at {settings.endpoint_url} (buckets {buckets}); "
              f"credentials in {local.state_dir / s3settings.CREDENTIALS_FILE}, DVC configured in {written}")
    elif args.action == "stop":
        print("stopped" if local.stop() else "no local S3 server was running")
    else:
        print(json.dumps(local.describe(), indent=2))


def publish_command(args: argparse.Namespace) -> None:
    params = config.load()
    settings = s3settings.resolve()
    info = {k: v for k, v in {"family": args.family, "size": args.size, "source": args.source,
                              "description": args.description}.items() if v is not None}
    result = publish(make_client(settings), settings, params.remote.bucket, params.remote.prefix,
                     args.path, args.name, info)
    print(json.dumps(result, indent=2))


def list_command(_: argparse.Namespace) -> None:
    params = config.load()
    settings = s3settings.resolve()
    with explained(settings, f"s3://{params.remote.bucket}/{params.remote.prefix}/"):
        infos = list_published(make_client(settings), params.remote.bucket, params.remote.prefix)
    if not infos:
        print(f"nothing published under s3://{params.remote.bucket}/{params.remote.prefix}/")
    for info in infos:
        params_m = f"{info['parameters'] / 1e6:.2f}M params" if info.get("parameters") else "params n/a"
        print(f"{info['name']:<32} {info['format']:<12} {info['bytes'] / 2**20:8.1f} MiB  {params_m:<14} "
              f"{info['created']}  {info.get('source', '')}")


def configure_dvc_command(_: argparse.Namespace) -> None:
    print(f"wrote {configure_dvc(s3settings.resolve())}")


def prune_versions_command(args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    from distillery.remote.versions import prune

    params = config.load()
    settings = s3settings.resolve()
    bucket = params.remote.bucket
    with explained(settings, f"s3://{bucket}/"):
        old = prune(make_client(settings), bucket, args.prefix, args.days, datetime.now(UTC), args.apply)
    for version in old:
        print(version.line())
    total = sum(v.size for v in old) / 2**20
    verb = "deleted" if args.apply else "would delete (dry run; --apply deletes)"
    print(f"{verb}: {len(old)} version(s) of s3://{bucket}/{args.prefix} noncurrent for over {args.days:g} days, "
          f"{total:.1f} MiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distillery.remote", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("server", help="the embedded S3 server")
    srv.add_argument("action", choices=("start", "stop", "status"))
    srv.set_defaults(run=server)
    pub = sub.add_parser("publish", help="upload weights to <prefix>/<name>/")
    pub.add_argument("path", type=Path)
    pub.add_argument("--name", required=True, help="e.g. resnet/base (what model.family/model.size pull)")
    pub.add_argument("--family")
    pub.add_argument("--size")
    pub.add_argument("--source", help="where the weights came from, for info.json")
    pub.add_argument("--description")
    pub.set_defaults(run=publish_command)
    sub.add_parser("list", help="what is published").set_defaults(run=list_command)
    sub.add_parser("configure-dvc", help="write .dvc/config.local").set_defaults(run=configure_dvc_command)
    prune_parser = sub.add_parser("prune-versions", help="delete versions superseded more than --days ago")
    prune_parser.add_argument("--days", type=float, required=True)
    prune_parser.add_argument("--prefix", default="", help="only keys under this prefix (default: the whole bucket)")
    prune_parser.add_argument("--apply", action="store_true", help="delete (default: list what would go)")
    prune_parser.set_defaults(run=prune_versions_command)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args.run(args)
    except DistilleryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
