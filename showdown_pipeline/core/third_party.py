"""Imports of optional heavy libraries whose import-time notices we have read and silence at the import site."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

PYSPARK_PANDAS_NOTICE = "PySpark does not yet fully support pandas"


@contextmanager
def pyspark_pandas_notice_silenced() -> Iterator[None]:
    """pyspark 4.3 warns once, when first imported, that it is not yet tested with pandas 3 (a FutureWarning
    printed on stderr). Great Expectations imports pyspark whenever it is installed (its optional Spark
    support) and the Spark engine imports it; neither hands Spark a pandas frame (the engine passes Arrow
    tables and reads results as Arrow), so the notice says nothing about our runs and would break the CLI's
    promise of one line on stderr per failure. Silenced at the two import sites only, never process-wide."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_NOTICE, category=FutureWarning)
        yield


def import_great_expectations():
    """`great_expectations`, imported lazily (its import costs ~4.5 s) with pyspark's notice silenced."""
    with pyspark_pandas_notice_silenced():
        import great_expectations

    return great_expectations
