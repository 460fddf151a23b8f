"""Datasets: reading a user's layout, validation, splits, letterbox, the prepared format."""
