"""Dagster definitions only: one sub-package per stage; the logic lives in `showdown_pipeline.core`."""
