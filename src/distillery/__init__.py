"""distillery: a reproducible DVC pipeline from labelled images to small INT8 models."""

import logging

__version__ = "0.1.0"

# Known-harmless import-time noise: torchao warns that its CUDA-only kernels cannot load on a
# CPU build, and torch's pytree warns about torchao's Enum registrations.
for _noisy in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)
