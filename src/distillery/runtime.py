"""The torch runtime every stage shares: threads, seeds, determinism."""

from __future__ import annotations

import torch


def configure_torch(threads: int, seed: int) -> None:
    """``threads`` intra-op threads, the global seed, and deterministic kernels where torch has them."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
