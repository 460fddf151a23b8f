"""Multi-process data parallel training: relaunch under ``torchrun`` and join the gloo group."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import torch.distributed as dist

log = logging.getLogger(__name__)


@contextlib.contextmanager
def launch_or_join(module: str, processes: int, threads: int) -> Iterator[tuple[int, int]]:
    """Yield (rank, threads per process).

    With ``processes > 1`` and not yet under torchrun, re-execute this stage as
    ``torchrun --standalone --nproc_per_node=N -m <module>`` (this process is replaced). Under
    torchrun, join the gloo process group for the duration of the block.
    """
    if processes > 1 and "LOCAL_RANK" not in os.environ:
        torchrun = str(Path(sys.executable).parent / "torchrun")
        log.info("starting %d data-parallel processes with torchrun (gloo)", processes)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(torchrun, [torchrun, "--standalone", f"--nproc_per_node={processes}", "-m", module])
    if "LOCAL_RANK" not in os.environ:
        yield 0, threads
        return
    dist.init_process_group("gloo")
    try:
        yield dist.get_rank(), max(1, threads // dist.get_world_size())
    finally:
        dist.destroy_process_group()
