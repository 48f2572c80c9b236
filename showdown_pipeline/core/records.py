"""What a run records beside its tables, and where: the board tables, each board's parameters, the integrity
summary. Written by ratings and integrity, read by publish and the circuit breakers (so publish never imports
a stage that comes before it).

Each table has one writer, so the lineage shows who made it: `overall_rating_parameters` (the raw board's
fit), `style_rating_parameters`, `segment_rating_parameters` (one row per dimension, each replaced by the
run that rebuilds that dimension) and `integrity_summary` (one row).
"""

from __future__ import annotations

import json

import pyarrow as pa

from showdown_pipeline.core import data_state
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.core.warehouse import WarehouseSession

# Tables the boards are written to (board -> table); publish reads them all.
BOARD_TABLES = {
    "raw": "overall_ratings",
    "style": "style_ratings",
    **{dim: f"{dim}_ratings" for dim in SEGMENT_DIMENSIONS},
}

# Board parameters (board -> table): the raw board's parameters are recorded as board "overall".
PARAMETER_TABLES = {
    "overall": "overall_rating_parameters",
    "style": "style_rating_parameters",
    **{dim: "segment_rating_parameters" for dim in SEGMENT_DIMENSIONS},
}
# The sampling plan of the raw board (core/sampling_plan.py), written beside it; publish copies it into the snapshot.
SAMPLING_PLAN_TABLE = "sampling_plan"
_PARAMETER_SCHEMA = pa.schema([("board", pa.string()), ("parameters", pa.string())])


class RecordMissing(LookupError):
    """A record a step needs was not made yet (the message names the asset to materialize first)."""


def parameters_board(board: str) -> str:
    """The name a board's parameters are recorded under ("raw" -> "overall")."""
    return "overall" if board == "raw" else board


def _parameter_rows(session: WarehouseSession, table: str) -> list[dict]:
    return session.read_table(table).to_pylist() if table in session.table_names() else []


def save_parameters(session: WarehouseSession, board: str, parameters: dict) -> None:
    """Record one board's parameters, replacing its earlier row (other boards' rows stay)."""
    table = PARAMETER_TABLES[board]
    rows = [r for r in _parameter_rows(session, table) if r["board"] != board]
    rows.append({"board": board, "parameters": json.dumps(parameters, default=str)})
    session.replace_table(table, pa.Table.from_pylist(rows, schema=_PARAMETER_SCHEMA))


def save_board(
    session: WarehouseSession, board: str, frame, parameters: dict, also: dict | None = None
) -> None:
    """A board table, its parameters (and the tables `also` names, e.g. the sampling plan), together or
    not at all; the parameters' `run` records what the board was made from (core/data_state.py: the
    counted votes, and the overall board for the others)."""
    integrity = load_integrity_summary(session)
    overall = None if board == "overall" else load_parameters(session, "overall")
    run = {**parameters["run"], "state": data_state.board_state(integrity, overall)}
    with session.transaction():
        session.replace_table(BOARD_TABLES["raw" if board == "overall" else board], frame)
        for table, data in (also or {}).items():
            session.replace_table(table, data)
        save_parameters(session, board, {**parameters, "run": run})


def load_parameters(session: WarehouseSession, board: str) -> dict:
    """One board's recorded parameters; RecordMissing when that board was never fitted."""
    for row in _parameter_rows(session, PARAMETER_TABLES[board]):
        if row["board"] == board:
            return json.loads(row["parameters"])
    source = "overall_ratings" if board == "overall" else BOARD_TABLES.get(board, f"{board}_ratings")
    raise RecordMissing(f"no parameters for the {board} board: materialize {source} first")


def save_integrity_summary(session: WarehouseSession, summary: dict) -> None:
    """Replace the integrity summary (one row, JSON) with this run's."""
    session.run("integrity/create_integrity_summary")
    session.run("integrity/save_integrity_summary", {"summary": json.dumps(summary, default=str)})


def load_integrity_summary(session: WarehouseSession) -> dict:
    """The integrity summary of the run that last made the counted votes; {} when none was recorded."""
    if "integrity_summary" not in session.table_names():
        return {}
    rows = session.rows("integrity/integrity_summary")
    return json.loads(rows[0]["summary"]) if rows else {}
