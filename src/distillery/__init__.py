"""distillery: a reproducible DVC pipeline from labelled images to small INT8 models."""

__version__ = "0.1.0"
