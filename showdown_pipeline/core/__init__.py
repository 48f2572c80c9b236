"""Plain-Python logic of the pipeline (no Dagster import): rules, math and file formats."""
