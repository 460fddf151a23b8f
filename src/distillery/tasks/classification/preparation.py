"""Classification's ``preparation`` part: labelled images -> the prepared store (``distillery.data.prepare``)."""

from distillery.data.prepare import prepare_dataset

__all__ = ["prepare_dataset"]
