"""Pull throughput vs bare boto3 ``download_file`` of the same 200 MB object, in one run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import median_seconds
from distillery.remote.client import make_client
from distillery.remote.publish import publish
from distillery.remote.pull import pull_weights
from distillery.remote.server import LocalS3

SIZE = 200 * 2**20
REPEATS = 5


def run(workdir: Path) -> dict[str, Any]:
    server = LocalS3.on_free_port(workdir / "s3")
    settings = server.start()
    try:
        s3 = make_client(settings)
        source = workdir / "weights"
        source.mkdir()
        (source / "blob.bin").write_bytes(os.urandom(SIZE))
        publish(s3, settings, "models", "bench", source, "big", {"source": "benchmark"})
        bare_target = workdir / "bare.bin"
        bare_s, bare_all = median_seconds(
            lambda: s3.download_file("models", "bench/big/blob.bin", str(bare_target)), repeats=REPEATS
        )
        cache, out = workdir / "cache", workdir / "out"

        def cold_pull() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            pull_weights(s3, settings, "models", "bench", "big", out, cache, retries=2)

        pull_s, pull_all = median_seconds(cold_pull, repeats=REPEATS)
        cached_s, cached_all = median_seconds(
            lambda: pull_weights(s3, settings, "models", "bench", "big", out, cache, retries=2), repeats=REPEATS
        )
    finally:
        server.stop()
    mib = SIZE / 2**20
    return {
        "object_mib": mib,
        "boto3_download_file_mib_per_s": round(mib / bare_s, 1),
        "pull_mib_per_s": round(mib / pull_s, 1),
        "pull_vs_boto3_throughput_ratio": round(bare_s / pull_s, 3),
        "cached_repull_seconds": round(cached_s, 3),
        "seconds_all": {"boto3": [round(t, 3) for t in bare_all], "pull": [round(t, 3) for t in pull_all],
                        "cached": [round(t, 3) for t in cached_all]},
        "detail": "pull = download + sha256 verify + cache admit + copy into the output folder",
    }


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return run(Path(tmp))
