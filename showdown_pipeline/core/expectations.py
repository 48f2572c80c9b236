"""The Great Expectations 1.x suite over the counted votes (`votes_clean`).

These re-check, with an independent engine, what the SQL validation promises about every counted
vote, including that every enumerated field holds a normalised value of its allowed set
(core/normalise.py decides them; vote_schema.py names the sets) and that prompt_hash is the canonical
prompt key. GX is imported inside the function: it takes seconds to import and most commands never
need it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from showdown_pipeline.core.third_party import import_great_expectations
from showdown_pipeline.core.vote_schema import (
    AGE_BANDS,
    DISTRIBUTION_PATTERN,
    EDUCATION_LEVELS,
    IN_FLOW_SIDES,
    MAX_COUNT,
    PROMPT_KEY_PATTERN,
    WINNERS,
    country_codes,
    language_codes,
)

if TYPE_CHECKING:
    from showdown_pipeline.core.warehouse import WarehouseSession

SUITE_NAME = "votes_clean_suite"
# Rows handed to the suite at once, whatever the size of the table: the frame is ~0.3 GB in pandas 3 (measured
# in review); GX adds its own copies while it checks it.
SLICE_ROWS = 1_000_000

# Columns the suite needs; fetched alone so a large table is not pulled into pandas whole.
SUITE_COLUMNS: tuple[str, ...] = (
    "vote_id",
    "battle_id",
    "user_id",
    "source_kind",
    "voted_at",
    "model_left",
    "model_right",
    "winner",
    "in_flow_side",
    "distribution",
    "language",
    "prompt_hash",
    "country",
    "age_band",
    "education",
    "tokens_left",
    "tokens_right",
    "latency_ms_left",
    "latency_ms_right",
)


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int
    sample: list


def _suite():
    gx = import_great_expectations()

    e = gx.expectations
    expectations = [
        *(
            e.ExpectColumnValuesToNotBeNull(column=c)
            for c in ("vote_id", "battle_id", "user_id", "model_left", "model_right", "winner")
        ),
        e.ExpectColumnValuesToBeUnique(column="vote_id"),
        e.ExpectColumnValuesToBeInSet(column="winner", value_set=list(WINNERS)),
        e.ExpectCompoundColumnsToBeUnique(column_list=["user_id", "battle_id"]),
        e.ExpectColumnValuesToBeInSet(column="models_differ", value_set=[True]),
        e.ExpectColumnValuesToBeInSet(column="dated_unless_arena", value_set=[True]),
        *(
            e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=MAX_COUNT)
            for c in ("tokens_left", "tokens_right", "latency_ms_left", "latency_ms_right")
        ),
        # normalisation, re-checked: one spelling per value, in its set (NULLs are absent values). The
        # enumerated columns are checked on their distinct values (the suite's CPU at 1M votes: 6 s, against
        # 9 s checking every row); unexpected_count then counts distinct offending values.
        e.ExpectColumnValuesToNotBeNull(column="distribution"),
        e.ExpectColumnValuesToMatchRegex(column="distribution", regex=DISTRIBUTION_PATTERN),
        e.ExpectColumnValuesToMatchRegex(column="prompt_hash", regex=PROMPT_KEY_PATTERN),
        *(
            e.ExpectColumnDistinctValuesToBeInSet(column=column, value_set=sorted(allowed))
            for column, allowed in (
                ("in_flow_side", IN_FLOW_SIDES),
                ("language", language_codes()),
                ("country", country_codes()),
                ("age_band", AGE_BANDS),
                ("education", EDUCATION_LEVELS),
            )
        ),
    ]
    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite


@contextmanager
def _no_batch_fingerprint() -> Iterator[None]:
    """GX's pandas engine hashes every row of a frame under 1 GB (`HASH_THRESHOLD`) into a batch marker,
    `pandas_data_fingerprint`, twice per batch, before it checks anything: 40% of the suite's time on a
    slice of 1M votes (py-spy; 7.9 s -> 3.7 s without it). The marker names the batch in a stored
    context's results; our context is ephemeral and nothing reads it, so it is skipped (the threshold at
    0) while the suite runs and put back after."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    saved = engine.HASH_THRESHOLD
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = saved


def validate_votes(frame: pd.DataFrame) -> tuple[bool, list[ExpectationOutcome]]:
    """Run the suite on a frame holding SUITE_COLUMNS; returns (all passed, one outcome per expectation).

    Nothing of a run may outlive it: GX's context, batch and result refer to one another, and through them
    to the suite's copy of the frame. Such cycles are freed only by Python's cyclic collector, whose full
    passes are rare, so the run ends with one (`gc.collect`); and GX keeps the last context as its current
    project until the next, so the run deletes the context's data source. Without the two, each 1M-vote
    slice left ~440 MB behind: over the 30M-vote world the suite grew from 3.4 to 11.3 GB of RSS, the
    build's peak."""
    try:
        return _validate_votes(frame)
    finally:
        gc.collect()


def _validate_votes(frame: pd.DataFrame) -> tuple[bool, list[ExpectationOutcome]]:
    gx = import_great_expectations()

    frame = frame.copy()
    frame["models_differ"] = frame["model_left"] != frame["model_right"]
    frame["dated_unless_arena"] = frame["voted_at"].notna() | (frame["source_kind"] == "arena")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas("warehouse")
    asset = source.add_dataframe_asset("votes_clean")
    batch_definition = asset.add_batch_definition_whole_dataframe("all_rows")
    suite = context.suites.add(_suite())
    # GX keeps the last context as its current project (a module global) until the next one: without its
    # data source, that context no longer reaches the batch and the frame
    try:
        with _no_batch_fingerprint():
            batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(
                suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}
            )
    except BaseException:
        with contextlib.suppress(Exception):  # the suite's own failure is the one to report
            context.data_sources.delete("warehouse")
        raise
    context.data_sources.delete("warehouse")
    outcomes = []
    for r in result.results:
        config = r.expectation_config
        kwargs = config.kwargs
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=kwargs.get("column") or ",".join(kwargs.get("column_list", []) or []) or None,
                success=bool(r.success),
                unexpected_count=int((r.result or {}).get("unexpected_count") or 0),
                sample=[str(v) for v in (r.result or {}).get("partial_unexpected_list", [])][:5],
            )
        )
    return bool(result.success), outcomes


def validate_unchecked_votes(session: WarehouseSession) -> tuple[bool, list[ExpectationOutcome], int]:
    """Run the suite on the counted votes written since it last passed (votes_clean_unchecked), in slices
    of SLICE_ROWS rows of one statement's result, streamed (session.query_slices); when every slice
    passes, they are checked (the table is emptied). Returns (all passed, the outcomes of every slice,
    rows checked).

    Why not every row, every night: each expectation but the two uniqueness ones holds or fails row by
    row (or value by value), and a counted vote's row is only ever written by validation, which puts it in
    votes_clean_unchecked; a row the suite passed is unchanged until it is written again. Uniqueness over
    the whole table (vote_id, (user_id, battle_id)) is what the blocking SQL check no_duplicate_vote_ids
    proves on every row, every run; the suite re-checks it within each slice. Rows of a failed run stay
    unchecked, so the next run checks them again."""
    success, outcomes, total = True, [], 0
    # closed on any way out, so the session can run statements again (it cannot while a result streams)
    with contextlib.closing(
        session.query_slices("validate/votes_for_expectations", rows=SLICE_ROWS)
    ) as slices:
        for table in slices:
            frame = table.to_pandas()
            del table
            total += len(frame)
            passed, found = validate_votes(frame)
            success, outcomes = success and passed, outcomes + found
            del frame
    if success:
        session.run("validate/forget_votes_clean_unchecked")
    return success, outcomes, total
