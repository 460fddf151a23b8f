"""Models: the registry of families and sizes, checkpoints, pretrained transfer, LoRA."""
