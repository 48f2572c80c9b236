"""One way to reach the SQL in `showdown_pipeline/sql/<stage>/<name>.sql` (statements run through the warehouse
seam, `core/warehouse.py`, which loads them from here by name).

The SQL ships inside the package and is read with `importlib.resources`, so a wheel (non-editable)
install finds it. Each file holds one idempotent statement; values are bound parameters (`$name`), never
formatted into the text. A missing file is an error that names the file, not a silent no-op.
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable

import duckdb
import pyarrow as pa

from showdown_pipeline.core.vote_schema import ARENA_WINNERS, WINNER_SCORE

SQL_ROOT: Traversable = resources.files("showdown_pipeline") / "sql"


class SqlFileMissing(FileNotFoundError):
    pass


@functools.cache
def load_sql(name: str) -> str:
    """Text of `sql/<name>.sql`, e.g. `load_sql("validate/votes_checked")`."""
    path = SQL_ROOT.joinpath(*f"{name}.sql".split("/"))
    if not path.is_file():
        raise SqlFileMissing(f"SQL file not found: {path} (looked up as {name!r})")
    text = path.read_text(encoding="utf-8")
    statements = duckdb.extract_statements(text)
    if len(statements) != 1:
        raise ValueError(f"{path} must hold exactly one statement, found {len(statements)}")
    return text


def sql_names_ending(suffix: str) -> list[str]:
    """`<stage>/<name>` of every file under sql/ named `<name><suffix>`, sorted."""
    return sorted(
        f"{stage.name}/{file.name.removesuffix(suffix)}"
        for stage in SQL_ROOT.iterdir()
        if stage.is_dir()
        for file in stage.iterdir()
        if file.name.endswith(suffix)
    )


def all_sql_names() -> list[str]:
    """Every statement's name (`<stage>/<name>`), e.g. for a test that loads them all (a `.spark.sql`
    file is a statement's Spark twin, not a statement)."""
    return [name for name in sql_names_ending(".sql") if not name.endswith(".spark")]


def rule_relations() -> dict[str, pa.Table]:
    """The vocabulary's lookup tables, readable by name in every session: the one source SQL reads a
    rule from, so no statement spells it out again (`core/vote_schema.py` holds each rule once).

    - `winner_scores(winner, score)`: the Bradley-Terry score of each canonical winner (WINNER_SCORE).
    - `arena_winners(label, winner)`: LMArena / FastChat winner labels in our vocabulary (ARENA_WINNERS).

    An engine registers each as a session-scoped view (DuckDB: `register`; Spark: a temp view)."""
    return {
        "winner_scores": pa.table(
            {
                "winner": pa.array(list(WINNER_SCORE), pa.string()),
                "score": pa.array(list(WINNER_SCORE.values()), pa.float64()),
            }
        ),
        "arena_winners": pa.table(
            {
                "label": pa.array(list(ARENA_WINNERS), pa.string()),
                "winner": pa.array(list(ARENA_WINNERS.values()), pa.string()),
            }
        ),
    }


def prepare_connection(conn: duckdb.DuckDBPyConnection) -> None:
    """Session settings every pipeline connection shares: UTC timestamps everywhere, and the rule
    relations (`rule_relations`) every statement may read."""
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET enable_progress_bar = false")  # logs and CLI output stay readable
    for name, table in rule_relations().items():
        conn.register(name, table)
