"""The export stage: the deployable bundle, checked end to end as an app would run it."""
