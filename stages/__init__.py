"""Thin entry points for the pipeline stages: ``python -m stages.<name>``."""
