"""Vote validation and dedupe, incremental: a night checks only the records of newly ingested files and
decides the dedupe rules again only where the new records can change them, with results equal to a full
rebuild over the same ledger.

State kept between runs (each table is an asset of `validated_votes`):

- `votes_checked`, `vote_quarantine`: one row per record ever validated; a record's checked state depends
  on the record and the rules alone, so it is never recomputed while the rules stay the same.
- `votes_validated_files`: the ledger entries whose records are in `votes_checked`, with the fingerprint
  of the rules they were checked under (`rules_fingerprint`: the SQL, the normalisers' code, the registry in
  force). Another fingerprint, or an entry the ledger no longer holds, means a full rebuild.
- `vote_duplicates`: the dedupe outcome of every record that does not count. The rules (exact copy,
  then supersede by vote_id, then one vote per (user, battle)) are windows over key groups, so a batch
  decides again exactly the groups it touches: every record (old or new) of a vote_id it brings — an exact
  copy shares its vote_id, so that covers the content groups —, then every record still standing in each
  (user_id, battle_id) one of those records has. A re-export can thereby supersede an old counted vote,
  and make an old duplicate of that vote count again; both come out as a full rebuild decides them.
- `votes_clean`: rewritten for the records decided again and for the voters whose profile changed.
- `votes_clean_unchecked`: counted votes written since the Great Expectations suite last passed.

Everything a run changes commits in one transaction, so a killed run leaves the state of the run before.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass

import pyarrow as pa

from showdown_pipeline.core import normalise, vote_schema
from showdown_pipeline.core.sql import load_sql
from showdown_pipeline.core.warehouse import WarehouseSession

# Every statement whose text decides a record's checked state or dedupe outcome: part of the fingerprint.
RULE_STATEMENTS = (
    "validate/vote_field_values",
    "validate/votes_checked_batch",
    "validate/vote_quarantine_batch",
    "validate/dedupe_vote_stage",
    "validate/dedupe_user_battle_stage",
    "validate/votes_clean_batch",
)
STATE_TABLES = ("votes_checked", "vote_quarantine", "vote_duplicates", "votes_clean", "votes_validated_files")


@dataclass(frozen=True)
class ValidationRun:
    """What one run of the vote validation did: full rebuild or night, records and files it validated,
    records whose dedupe outcome it decided again, and the raw-value mapping it joined."""

    mode: str
    files: int
    records: int
    decided: int
    mapping: pa.Table


def rules_fingerprint(session: WarehouseSession) -> str:
    """sha256 of what a record's checked state depends on besides the record: the rule statements, their
    parameters, the normalisers' and vocabulary's code, and the registry in force."""
    parts = {
        "sql": [load_sql(name) for name in RULE_STATEMENTS],
        "params": {k: repr(v) for k, v in normalise.vote_sql_params().items()},
        "code": [inspect.getsource(normalise), inspect.getsource(vote_schema)],
        "registry": session.one("validate/registry_digest")["digest"],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def can_extend(session: WarehouseSession, fingerprint: str) -> bool:
    """Whether the state tables exist and hold only ledger entries checked under these rules."""
    if not set(STATE_TABLES) <= session.table_names():
        return False
    state = session.one("validate/vote_state", {"fingerprint": fingerprint})
    return state["files"] > 0 and state["other_rules"] == 0 and state["gone"] == 0


def validate_votes(session: WarehouseSession, full: bool = False) -> ValidationRun:
    """Validate the records of the vote files not validated yet and bring the dedupe and the counted votes
    up to date (everything again when `full`, the rules changed, or the state is missing); one transaction."""
    fingerprint = rules_fingerprint(session)
    with session.transaction():
        for statement in (
            "create_votes_validated_files",
            "create_vote_duplicates",
            "create_votes_clean_unchecked",
        ):
            session.run(f"validate/{statement}")
        mode = "night" if not full and can_extend(session, fingerprint) else "full"
        if mode == "full":
            for statement in (
                "forget_validated_files",
                "forget_vote_duplicates",
                "forget_votes_clean_unchecked",
            ):
                session.run(f"validate/{statement}")
        pending = session.query("validate/pending_vote_files")
        with session.registered("pending_vote_files", pending):
            mapping = normalise.build_votes_checked_batch(session)
            records = session.one("validate/batch_count")["n"]
            session.run("validate/vote_quarantine_batch")
            _adopt_checked(session, mode)
            session.run("validate/record_validated_files", {"fingerprint": fingerprint})
        decided = _dedupe(session, mode)
        _write_clean(session, mode)
    return ValidationRun(mode, pending.num_rows, records, decided, mapping)


def _adopt_checked(session: WarehouseSession, mode: str) -> None:
    """The batch's checked records and quarantine join the tables (a full rebuild: become them). On a night
    the batch stays until the dedupe has read which vote_ids it brings."""
    if mode == "full":
        session.swap_table("votes_checked_batch", "votes_checked")
        session.swap_table("vote_quarantine_batch", "vote_quarantine")
    else:
        session.run("validate/votes_checked_add_batch")
        session.append_table("vote_quarantine_batch", "vote_quarantine")


def _dedupe(session: WarehouseSession, mode: str) -> int:
    """Decide the dedupe rules again over the groups the batch touches (all of them on a full rebuild);
    returns how many records were decided."""
    if mode == "full":
        session.run("validate/dedupe_input_all")
        session.run("validate/dedupe_vote_stage")
        session.run("validate/dedupe_user_battle_extra_none")
    else:
        session.run("validate/dedupe_input_affected")
        session.run("validate/drop_votes_checked_batch")
        session.run("validate/dedupe_vote_stage")
        session.run("validate/dedupe_user_battle_extra")
    session.run("validate/dedupe_user_battle_stage")
    session.run("validate/dedupe_decided_rows")
    session.run("validate/vote_duplicates_forget_decided")
    session.run("validate/vote_duplicates_insert")
    return session.one("validate/dedupe_decided_count")["n"]


def _write_clean(session: WarehouseSession, mode: str) -> None:
    """votes_clean: built whole, or (a night) its rows decided again or of changed voters written again."""
    if mode == "full":
        session.run("validate/clean_candidates_all")
    else:
        session.run("validate/voters_with_changed_profiles")
        session.run("validate/clean_refresh_rows")
        session.run("validate/clean_candidates_refreshed")
    session.run("validate/votes_clean_batch")
    session.run("validate/votes_clean_unchecked_add")
    if mode == "full":
        session.swap_table("votes_clean_batch", "votes_clean")
    else:
        session.run("validate/votes_clean_forget_refreshed")
        session.append_table("votes_clean_batch", "votes_clean")
