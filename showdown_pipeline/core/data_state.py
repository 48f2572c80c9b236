"""Which state of the landing zone each derived table was made from, so a snapshot never mixes two.

A run may materialize some assets and not others (a UI launch of ingest and validation only, then a
publish-only run). Every derived table therefore records, in `table_states`, the run that made it, the
state of the landing ledger it was made from (`ledger_state`: a hash of every ledger entry of the kinds
it reads: votes and arena logs, contributors, or models) and the runs that made the tables it read. The
validation stage reads the ledger itself; integrity and ratings inherit the state of the table they read. Publish compares what it is about to carry with the ledger as it is now
(`inconsistency`) and refuses, in one line, a snapshot whose tables were made from different states or
whose inputs were remade since: its accounting and its boards describe one state of the data, or nothing
is published.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from showdown_pipeline.core.warehouse import WarehouseSession

VOTE_KINDS = ("arena", "votes")
CONTRIBUTOR_KINDS = ("contributors",)
MODEL_KINDS = ("models",)


@dataclass(frozen=True)
class TableState:
    table: str
    run_id: str
    ledger_state: str
    inputs: dict[str, str]  # table read -> the run that had made it
    kinds: tuple[str, ...]  # the ledger kinds ledger_state covers


def ledger_state(session: WarehouseSession, kinds: tuple[str, ...]) -> str:
    """A fingerprint of the ledger's entries of `kinds`: content hash, path, kind, status, rows, order."""
    rows = []
    if "landing_files" in session.table_names():
        rows = [[str(v) for v in r.values()] for r in session.rows("warehouse/ledger_rows")]
    rows = [r for r in rows if r[2] in kinds]
    digest = hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()
    return f"{len(rows)} {'/'.join(kinds)} entries, sha256 {digest[:16]}"


def states(session: WarehouseSession) -> dict[str, TableState]:
    if "table_states" not in session.table_names():
        return {}
    return {
        r["table_name"]: TableState(
            r["table_name"],
            r["run_id"],
            r["ledger_state"],
            json.loads(r["inputs"]),
            tuple(r["kinds"].split(",")),
        )
        for r in session.rows("warehouse/table_states")
    }


def record(
    session: WarehouseSession,
    tables: Iterable[str],
    run_id: str,
    state: str,
    inputs: dict[str, str],
    kinds: tuple[str, ...],
) -> None:
    session.run("warehouse/create_table_states")
    for table in tables:
        session.run(
            "warehouse/save_table_state",
            {
                "table_name": table,
                "run_id": run_id,
                "ledger_state": state,
                "kinds": ",".join(kinds),
                "inputs": json.dumps(inputs),
            },
        )


def record_from_ledger(
    session: WarehouseSession,
    tables: Iterable[str],
    run_id: str,
    kinds: tuple[str, ...],
    read: Iterable[str] = (),
) -> None:
    """`tables` were just made by `run_id` from the ledger's entries of `kinds` as they are now (and from
    the derived tables `read`)."""
    known = states(session)
    inputs = {t: known[t].run_id for t in read if t in known}
    record(session, tables, run_id, ledger_state(session, kinds), inputs, kinds)


def record_from(session: WarehouseSession, tables: Iterable[str], run_id: str, read: Iterable[str]) -> None:
    """`tables` were just made by `run_id` from the derived tables `read`, the first of which carries the
    ledger state they inherit (the others are checked through their runs)."""
    known = states(session)
    read = list(read)
    source = known.get(read[0])
    state, kinds = (source.ledger_state, source.kinds) if source else ("unknown", VOTE_KINDS)
    record(session, tables, run_id, state, {t: known[t].run_id for t in read if t in known}, kinds)


def inconsistency(session: WarehouseSession, tables: Iterable[str]) -> str | None:
    """One line saying why `tables` (what a snapshot is about to carry) do not describe the ledger's
    current state together, or None when they do: a table that records no state, a table made from
    another state of the ledger, or a table made from an input another run has remade since."""
    known = states(session)
    for table in tables:
        state = known.get(table)
        if state is None:
            return f"{table} records no state of the landing zone: materialize it in this run"
        now = ledger_state(session, state.kinds)
        if state.ledger_state != now:
            return (
                f"{table} was made by run {state.run_id[:8]} from another state of the landing zone "
                f"({state.ledger_state}; the ledger now holds {now}): materialize it, and what it is made "
                "from, in this run"
            )
        for source, run_id in state.inputs.items():
            current = known.get(source)
            if current is not None and current.run_id != run_id:
                return (
                    f"{table} was made by run {state.run_id[:8]} from {source} of run {run_id[:8]}, which run "
                    f"{current.run_id[:8]} has remade since: materialize {table} in this run"
                )
    return None
