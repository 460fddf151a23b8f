"""pull_pretrained: weights published at ``<remote.prefix>/<model.family>/<model.size>/`` -> ``paths.pretrained``."""

import time
from dataclasses import asdict

from distillery.config import Params
from distillery.remote import settings as s3settings
from distillery.remote.client import make_client
from distillery.remote.pull import pull_weights
from distillery.stage import log, run_stage
from distillery.tracking import write_metrics


def pull_pretrained(params: Params) -> None:
    settings = s3settings.resolve()
    name = f"{params.model.family}/{params.model.size}"
    started = time.perf_counter()
    files = pull_weights(make_client(settings), settings, params.remote.bucket, params.remote.prefix, name,
                         params.paths.pretrained, params.paths.cache, params.remote.retries)
    seconds = time.perf_counter() - started
    write_metrics(params.paths, "pull_pretrained", {
        "name": name,
        "files": {f.object.rsplit("/", 1)[-1]: asdict(f) for f in files},
        "bytes": sum(f.bytes for f in files),
        "downloaded_bytes": sum(f.bytes for f in files if not f.from_cache),
        "from_cache": all(f.from_cache for f in files),
        "seconds": round(seconds, 3),
    })
    log.info("pulled %s: %d file(s), %.1f MiB, %s, %.2f s", name, len(files), sum(f.bytes for f in files) / 2**20,
             "all from cache" if all(f.from_cache for f in files) else "downloaded", seconds)


if __name__ == "__main__":
    run_stage("pull_pretrained", pull_pretrained)
