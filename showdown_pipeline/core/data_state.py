"""Which state of the landing zone the tables a snapshot carries were made from, so it never mixes two.

A run may materialize some assets and not others (a UI launch of ingest and validation only, then a
publish-only run). So each stage's record says what it was made from, beside what it already records:

- validation (`validation_summary`, written by `validated_votes`): the run, and a fingerprint of the
  landing ledger it read (`ledger_state`: every entry's content hash, path, kind, status, rows and order);
- integrity (`state` in its summary's `run`): validation's ledger state and validation's run;
- every board (`state` in its parameters' `run`): integrity's ledger state and run, and for the style and
  segment boards the overall board's run.

Publish compares the chain with the ledger as it is now (`inconsistency`) and refuses, in one line, a
snapshot whose accounting and boards would describe different states of the data. Each record has one
writer (the stage it belongs to), as every table of the lineage does.
"""

from __future__ import annotations

import hashlib
import json

from showdown_pipeline.core.warehouse import WarehouseSession

VALIDATION_TABLE = "validation_summary"


def ledger_state(session: WarehouseSession) -> str:
    """A fingerprint of the landing ledger: every entry's content hash, path, kind, status, rows, order."""
    rows = []
    if "landing_files" in session.table_names():
        rows = [[str(v) for v in r.values()] for r in session.rows("warehouse/ledger_rows")]
    digest = hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()
    return f"{len(rows)} ledger entries, sha256 {digest[:16]}"


def save_validation(session: WarehouseSession, run_id: str) -> None:
    """Record that the validated tables were just made by `run_id` from the ledger as it is now."""
    summary = {"run_id": run_id, "ledger_state": ledger_state(session)}
    session.run("validate/create_validation_summary")
    session.run("validate/save_validation_summary", {"summary": json.dumps(summary)})


def load_validation(session: WarehouseSession) -> dict:
    if VALIDATION_TABLE not in session.table_names():
        return {}
    rows = session.rows("validate/validation_summary")
    return json.loads(rows[0]["summary"]) if rows else {}


def integrity_state(session: WarehouseSession) -> dict:
    """The `state` an integrity summary records: validation's ledger state and run."""
    validation = load_validation(session)
    return {
        "ledger_state": validation.get("ledger_state"),
        "inputs": {"votes_clean": validation.get("run_id")},
    }


def board_state(integrity: dict, overall: dict | None = None) -> dict:
    """The `state` a board's parameters record: integrity's ledger state and run (and the overall board's
    run, for the boards made from it)."""
    inputs = {"votes_counted": (integrity.get("run") or {}).get("run_id")}
    if overall is not None:
        inputs["overall_ratings"] = (overall.get("run") or {}).get("run_id")
    return {"ledger_state": state_of(integrity).get("ledger_state"), "inputs": inputs}


def state_of(record: dict) -> dict:
    """The `state` a stage's record (integrity summary, board parameters) keeps in its `run`."""
    return (record.get("run") or {}).get("state") or {}


def inconsistency(
    session: WarehouseSession, integrity: dict, boards: dict[str, tuple[str, dict]]
) -> str | None:
    """One line saying why the validated tables, the integrity summary and `boards` (board -> (table, its
    parameters)) do not describe the ledger's current state together, or None when they do."""
    now, validation = ledger_state(session), load_validation(session)
    if not validation:
        return "the validated tables record no state of the landing zone: materialize validated_votes in this run"
    made = {"votes_clean": validation, "votes_counted": integrity.get("run") or {}}
    made["overall_ratings"] = (boards.get("raw", (None, {}))[1].get("run")) or {}
    recorded = [("the validated tables", validation.get("run_id"), validation.get("ledger_state"), {})]
    state = state_of(integrity)
    recorded.append(("votes_counted", made["votes_counted"].get("run_id"), state.get("ledger_state"), state))
    for table, parameters in boards.values():
        state = state_of(parameters)
        recorded.append(
            (table, (parameters.get("run") or {}).get("run_id"), state.get("ledger_state"), state)
        )
    for table, run_id, ledger, state in recorded:
        if ledger != now:
            return (
                f"{table} was made by run {str(run_id)[:8]} from another state of the landing zone ({ledger}; "
                f"the ledger now holds {now}): materialize it, and what it is made from, in this run"
            )
        for source, source_run in (state.get("inputs") or {}).items():
            current = made.get(source, {}).get("run_id")
            if current != source_run:
                return (
                    f"{table} was made by run {str(run_id)[:8]} from {source} of run {str(source_run)[:8]}, "
                    f"which run {str(current)[:8]} has remade since: materialize {table} in this run"
                )
    return None
