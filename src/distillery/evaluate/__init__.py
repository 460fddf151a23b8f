"""Metrics, threshold search, reports and plots."""
