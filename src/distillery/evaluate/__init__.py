"""The evaluate stage's plumbing: int8 outputs on val and test, the task's rule and report, the store."""
