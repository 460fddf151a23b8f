"""Registry sizes that have the architecture of a checkpoint published on the Hugging Face hub.

A ``transformers`` folder of that checkpoint (``config.json`` + ``model.safetensors``), published to
the bucket under ``<family>/<size>``, transfers every backbone tensor (the head is re-initialised
for the new labels): ``tests/models/test_transfer.py`` builds each from the checkpoint's published
configuration and compares every tensor's name and shape. Nothing here downloads anything.
"""

from __future__ import annotations

SAME_ARCHITECTURE_AS: dict[tuple[str, str], str] = {
    ("resnet", "large"): "microsoft/resnet-18",
    ("convnext", "tiny"): "facebook/convnext-tiny-224",
    ("convnext", "small"): "facebook/convnext-small-224",
    ("convnext", "base"): "facebook/convnext-base-224",
    ("efficientnet", "b0"): "google/efficientnet-b0",
    ("efficientnet", "b1"): "google/efficientnet-b1",
    ("efficientnet", "b2"): "google/efficientnet-b2",
    ("efficientnet", "b3"): "google/efficientnet-b3",
    ("mobilenet_v2", "base"): "google/mobilenet_v2_1.0_224",
}
