"""One integrity run (DESIGN §4) on a warehouse session: read the inputs once, fit the preliminary
ratings, run the registered checks, derive the vote exclusions and the votes for review, and measure how
the board moves with and without the exclusions and how fragile its #1 is.

`run_integrity` only reads (every statement a file under `sql/integrity/`, every value bound);
`write_integrity` writes the `IntegrityResult`'s tables in one transaction. Nothing here knows Dagster or the
engine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from showdown_pipeline.core import boards, data_state, records
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.integrity import registry
from showdown_pipeline.core.integrity.fragility import fragility
from showdown_pipeline.core.integrity.thresholds import IntegrityThresholds
from showdown_pipeline.core.run_cut import RunCut
from showdown_pipeline.core.warehouse import WarehouseSession

DEFAULT_ANOMALY_SEED = 7_919  # production runs set a private one: the checkpoints must not be guessable
REVIEW_THRESHOLDS = ("upset_max_p",)  # read by the votes-for-review query, not by a check
SCORES_MIN_SEEN = 3  # (voter, model) rows with fewer sightings tell no check anything
# The (voter, model) statements (user_model_scores, user_model_sweeps) hold one hash-table entry per voter and
# model seen, and DuckDB's aggregate did not keep that within its limit as it grew: in one pass over 10M votes
# user_model_scores failed under a 400 MB limit (it ran under 600 MB), and over 30M votes it ran out of the
# 2.8 GB integrity runs under here, failing the build. They run in passes over the voters instead, one pass
# per VOTES_PER_PASS votes (`by_voters`): 10M votes in two passes ran under 300 MB (spilling; slowly).
VOTES_PER_PASS = 5_000_000

FLAG_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("check_name", pa.string()),
        ("score", pa.float64()),
        ("p_value", pa.float64()),
        ("reason", pa.string()),
        ("excluded", pa.bool_()),
    ]
)
EXCLUSION_SCHEMA = pa.schema([("row_key", pa.string()), ("check_name", pa.string()), ("reason", pa.string())])
REVIEW_SCHEMA = pa.schema(
    [
        ("row_key", pa.string()),
        ("user_id", pa.string()),
        ("winner_expected", pa.float64()),
        ("reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class IntegrityOptions:
    """What a run may tune: the thresholds, whether to compute fragility, the anomaly checkpoints' seed."""

    thresholds: IntegrityThresholds = field(default_factory=IntegrityThresholds)
    fragility: bool = True
    anomaly_seed: int = DEFAULT_ANOMALY_SEED


@dataclass(frozen=True)
class IntegrityResult:
    """`flags` → `user_flags`, `exclusions` → `vote_exclusions`, `reviews` → `vote_reviews` (Arrow, in those
    tables' schemas); `summary` → `integrity_summary` (the manifest's `integrity`)."""

    flags: pa.Table
    exclusions: pa.Table
    reviews: pa.Table
    summary: dict[str, Any]


def run_integrity(
    session: WarehouseSession, cut: RunCut, options: IntegrityOptions, run_record: Mapping[str, Any]
) -> IntegrityResult:
    """Integrity on the valid votes (`votes_clean`) before the run's cut; `run_record` (the run and its cut,
    `RunCutResource.record()`) is kept in the summary, so later steps refuse a summary of another cut."""
    t, cutoff = options.thresholds, cut.cutoff
    preliminary, votes = preliminary_fit(session, cutoff)
    inputs, reviews = read_inputs(session, cutoff, t, preliminary, votes, options.anomaly_seed)
    flags, report = registry.run_checks(inputs, t)
    del inputs  # one row per vote among them: not held through the statements below
    flag_table = _arrow(flags, FLAG_SCHEMA)
    exclusions = vote_exclusions(session, cutoff, flag_table)
    with session.registered("integrity_exclusions", _arrow(exclusions, EXCLUSION_SCHEMA)):
        counted_cells = _frame(session, "integrity/counted_pair_counts", {"cutoff": cutoff})
    counted = int(counted_cells["n"].sum())  # the votes that count: every one is in exactly one cell
    movement, fragile = board_movement(preliminary, counted_cells, options.fragility)
    summary = {
        "as_of": cut.as_of.isoformat(),
        "run": dict(run_record),
        "thresholds": asdict(t),
        # the checkpoints stay secret; the commitment lets an auditor who is given the seed reproduce them
        "anomaly_seed_sha256": hashlib.sha256(str(options.anomaly_seed).encode()).hexdigest(),
        **flag_counts(flags, exclusions),
        "votes_counted": int(counted),
        "board_movement": movement,
        "fragility": fragile,
        "upsets_for_review": int(reviews.num_rows),
        "checks": report,
    }
    return IntegrityResult(flag_table, _arrow(exclusions, EXCLUSION_SCHEMA), reviews, summary)


def write_integrity(session: WarehouseSession, result: IntegrityResult) -> None:
    """Every table of one integrity run (user_flags, vote_exclusions, votes_counted, vote_reviews,
    integrity_summary), together or not at all; the summary's `run` records what they were made from
    (core/data_state.py: the validated tables' state and run)."""
    summary = {
        **result.summary,
        "run": {**result.summary["run"], "state": data_state.integrity_state(session)},
    }
    with session.transaction():
        session.replace_table("user_flags", result.flags)
        session.replace_table("vote_exclusions", result.exclusions)
        session.run("integrity/votes_counted")
        session.replace_table("vote_reviews", result.reviews)
        records.save_integrity_summary(session, summary)


def preliminary_fit(session: WarehouseSession, cutoff: datetime) -> tuple[bt.BTFit | None, int]:
    """Plain Bradley-Terry on every valid vote before the cut (largest connected part): what the
    favouritism checks compare each voter with (None without any such vote); and how many such votes
    there are (the cells' sum)."""
    cells = _frame(session, "integrity/clean_pair_counts", {"cutoff": cutoff})
    if cells.empty:
        return None, 0
    counts = _largest_part(boards.pair_counts_from_frame(cells))
    return bt.fit_bradley_terry(counts, counts.models[0]), int(cells["n"].sum())


def read_inputs(
    session: WarehouseSession,
    cutoff: datetime,
    t: IntegrityThresholds,
    preliminary: bt.BTFit | None,
    votes: int,
    seed: int,
) -> tuple[registry.IntegrityInputs, pa.Table]:
    """The checks' inputs and the votes for review (winners the preliminary ratings gave < `upset_max_p`);
    `votes`: how many valid votes precede the cut (preliminary_fit's count), which sets the passes."""
    # the statements that fill the warehouse's memory (the (voter, model) aggregates) run first, while no
    # frame is held; the largest frame (one row per vote) is read last, after every other statement
    cut = {"cutoff": cutoff}
    scores = sweeps = None
    upsets = pd.DataFrame(columns=["row_key", "user_id", "winner_expected"])
    if preliminary is not None:
        theta = pa.table(
            {
                "model_id": pa.array(preliminary.models, pa.string()),
                "theta": pa.array(preliminary.theta, pa.float64()),
            }
        )
        passes = voter_passes(votes)
        with session.registered("integrity_theta", theta):
            scores = by_voters(
                session, "integrity/user_model_scores", {**cut, "min_seen": SCORES_MIN_SEEN}, passes
            )
            sweeps = by_voters(
                session, "integrity/user_model_sweeps", {**cut, "min_seen": t.sweep_min_seen}, passes
            )
            upsets = _frame(session, "integrity/upsets", {**cut, "max_p": t.upset_max_p})
    stats = _frame(
        session,
        "integrity/user_vote_stats",
        {**cut, "min_seconds": t.min_seconds, "max_tokens_per_second": t.max_tokens_per_second},
    )
    shared = _frame(session, "integrity/shared_identities", {**cut, "max_group": t.ring_max_group})
    surprise = _frame(session, "integrity/vote_outcome_surprise", cut)
    inputs = registry.IntegrityInputs(stats, surprise, shared, scores, sweeps, seed)
    return inputs, _arrow(upsets.assign(reason="upset"), REVIEW_SCHEMA)


def vote_exclusions(session: WarehouseSession, cutoff: datetime, flags: pa.Table) -> pd.DataFrame:
    """One row per vote kept out of the boards: every vote of a voter with an excluding flag (reason: the
    first such check by name), then the flooded prompts' surplus votes not already excluded."""
    with session.registered("integrity_flags", flags):
        by_user = _frame(session, "integrity/excluded_user_votes", {"cutoff": cutoff})
    flood = _frame(session, "integrity/flood_prompt_exclusions", {"cutoff": cutoff})
    return pd.concat([by_user, flood[~flood["row_key"].isin(by_user["row_key"])]], ignore_index=True)


def flag_counts(flags: pd.DataFrame, exclusions: pd.DataFrame) -> dict[str, Any]:
    """Voters flagged per check, voters excluded, votes removed per check and in all."""
    by_check = flags.groupby("check_name")["user_id"].nunique().to_dict() if len(flags) else {}
    removed = exclusions.groupby("check_name").size().to_dict() if len(exclusions) else {}
    return {
        "users_flagged_by_check": {k: int(v) for k, v in by_check.items()},
        "users_excluded": int(flags.loc[flags["excluded"], "user_id"].nunique()) if len(flags) else 0,
        "removed_by_check": {k: int(v) for k, v in removed.items()},
        "votes_removed": int(len(exclusions)),
    }


def board_movement(
    preliminary: bt.BTFit | None, counted_cells: pd.DataFrame, with_fragility: bool
) -> tuple[list[dict[str, Any]], dict | None]:
    """How the top of the board moves with the exclusions (the top 10 after them, and the 5 biggest
    movers), on centred Elo so the anchor does not matter; and the fragility of #1 after them."""
    if preliminary is None or counted_cells.empty:
        return [], None
    after_counts = _largest_part(boards.pair_counts_from_frame(counted_cells))
    first = preliminary.models[0]
    anchor = first if first in after_counts.models else after_counts.models[0]
    after = bt.fit_bradley_terry(after_counts, anchor)
    joined = pd.DataFrame(
        {"with_exclusions": _centred_elo(after), "without_exclusions": _centred_elo(preliminary)}
    ).dropna()
    joined["change"] = joined["with_exclusions"] - joined["without_exclusions"]
    joined["rank_with"] = joined["with_exclusions"].rank(ascending=False).astype(int)
    joined["rank_without"] = joined["without_exclusions"].rank(ascending=False).astype(int)
    top = joined.sort_values("rank_with").head(10)
    movers = joined.reindex(joined["change"].abs().sort_values(ascending=False).index).head(5)
    movement = [
        {
            "model_id": m,
            "rank_with": int(r.rank_with),
            "rank_without": int(r.rank_without),
            "change_elo": round(float(r.change), 2),
        }
        for m, r in pd.concat([top, movers[~movers.index.isin(top.index)]]).iterrows()
    ]
    fragile = fragility(after_counts, anchor) if with_fragility and after_counts.n_models >= 2 else None
    return movement, fragile


def _centred_elo(fit: bt.BTFit) -> pd.Series:
    return pd.Series(fit.theta - fit.theta.mean(), index=fit.models) * bt.ELO_SCALE


def _largest_part(counts: bt.PairCounts) -> bt.PairCounts:
    groups = bt.components(counts)
    return counts.subset(groups[0]) if len(groups) > 1 else counts


def voter_passes(votes: int) -> int:
    """How many passes over the voters the (voter, model) statements take: one per VOTES_PER_PASS of the
    `votes` valid votes before the cut (at least one)."""
    return max(1, math.ceil(votes / VOTES_PER_PASS))


def by_voters(session: WarehouseSession, name: str, params: Mapping[str, Any], passes: int) -> pd.DataFrame:
    """A (voter, model) statement run in `passes` passes, each over the voters with hash(user_id) % passes =
    its number. A voter's rows are all in one pass, so each output row is the one a single statement over
    every voter gives; the rows are put back in the statement's order (user_id, model_id: unique, compared
    byte by byte as DuckDB and Spark compare text)."""
    table = pa.concat_tables(
        [session.query(name, {**params, "voter_passes": passes, "voter_pass": k}) for k in range(passes)]
    )
    if passes > 1:  # the unsorted table is let go as the sorted one replaces it
        table = table.sort_by([("user_id", "ascending"), ("model_id", "ascending")])
    return table.to_pandas()


def _frame(session: WarehouseSession, name: str, params: Mapping[str, Any]) -> pd.DataFrame:
    return session.query(name, params).to_pandas()


def _arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """`frame` in a table's schema (typed even when empty, where pandas would leave the columns untyped)."""
    return pa.Table.from_pandas(
        frame[schema.names], schema=schema, preserve_index=False
    ).replace_schema_metadata(None)
