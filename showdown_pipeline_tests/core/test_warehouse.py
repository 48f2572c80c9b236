"""The warehouse seam on DuckDB: statements by name, results by column name, checked table names."""

from __future__ import annotations

import pyarrow as pa
import pytest

from showdown_pipeline.core.warehouse import WarehouseError, duckdb_session


def test_tables_replace_read_register_and_roll_back(tmp_path):
    with duckdb_session(tmp_path / "w.duckdb") as wh:
        wh.replace_table("some_table", pa.table({"a": [1, 2]}))
        assert "some_table" in wh.table_names()
        assert wh.read_table("some_table").column("a").to_pylist() == [1, 2]
        with wh.registered("scratch_view", pa.table({"b": ["x"]})):
            assert "scratch_view" not in wh.table_names()  # a view of this session, not a table
        with pytest.raises(RuntimeError), wh.transaction():
            wh.replace_table("other_table", pa.table({"c": [1]}))
            raise RuntimeError("crash inside the transaction")
        assert "other_table" not in wh.table_names()


@pytest.mark.parametrize("name", ["x; DROP TABLE votes", "Votes", "a b", "", "x" * 64, "1abc", "tbl\u200b"])
def test_table_names_from_outside_the_code_are_refused(tmp_path, name):
    with duckdb_session(tmp_path / "w.duckdb") as wh, pytest.raises(ValueError, match="not a table name"):
        wh.replace_table(name, pa.table({"a": [1]}))


def test_errors_name_the_statement(tmp_path):
    with duckdb_session(tmp_path / "w.duckdb") as wh:
        with pytest.raises(WarehouseError, match="^warehouse/table_names: expected one row, got 0"):
            wh.one("warehouse/table_names")  # an empty warehouse has no table
        with pytest.raises(WarehouseError, match="^warehouse/table_names: "):
            wh.query("warehouse/table_names", {"not_a_parameter": 1})


# ---------------------------------------------------------------------------------------------- Spark
# The same seam on the Spark session (core/spark_warehouse.py): its catalog of Parquet parts, its transactions
# and what a writer killed between writing and publishing leaves.


def test_spark_tables_replace_read_register_and_roll_back(spark, tmp_path):
    from showdown_pipeline.core.spark_warehouse import spark_session

    with spark_session(spark, tmp_path / "tables") as wh:
        wh.replace_table("some_table", pa.table({"a": [1, 2]}))
        assert "some_table" in wh.table_names()
        assert sorted(wh.read_table("some_table").column("a").to_pylist()) == [1, 2]
        with wh.registered("scratch_view", pa.table({"b": ["x"]})):
            assert "scratch_view" not in wh.table_names()
        with pytest.raises(RuntimeError), wh.transaction():
            wh.replace_table("other_table", pa.table({"c": [1]}))
            assert "other_table" in wh.table_names()  # the block sees its own writes
            raise RuntimeError("crash inside the transaction")
        assert "other_table" not in wh.table_names()
        assert not (tmp_path / "tables" / "tables" / "other_table").exists() or not any(
            (tmp_path / "tables" / "tables" / "other_table").iterdir()
        )
    with spark_session(spark, tmp_path / "tables") as again:  # published state outlives the session
        assert again.table_names() == {"some_table"}


def test_spark_statements_insert_update_delete_and_add_columns(spark, tmp_path):
    """The ledger's own statements, as ingest runs them: CREATE IF NOT EXISTS, ALTER … ADD COLUMN, INSERT with
    a subquery on the same table, UPDATE and DELETE … RETURNING, with bound values (never formatted in)."""
    from datetime import UTC, datetime

    from showdown_pipeline.core.spark_warehouse import spark_session

    row = {
        "content_sha256": "c",
        "path": "votes/a'); DROP TABLE x; --.jsonl",
        "kind": "votes",
        "format": "jsonl",
        "size_bytes": 10,
        "landed_at": datetime(2026, 5, 1, tzinfo=UTC),
        "status": "rejected",
        "rows_in": 0,
        "blank_lines": 0,
        "error": None,
        "run_id": "r1",
    }
    with spark_session(spark, tmp_path / "tables") as wh:
        for name in (
            "create_landing_files",
            "add_landing_files_content_sha256",
            "add_landing_files_seen_seq",
        ):
            wh.run(f"ingest/{name}")
        with wh.transaction():
            wh.run("ingest/landing_file_record", {**row, "sha256": "k1"})
            wh.run(
                "ingest/landing_file_record", {**row, "sha256": "k2", "kind": "models", "status": "ingested"}
            )
        wh.run("ingest/landing_file_seen", {"sha256": "k2"})
        ledger = {r["sha256"]: r for r in wh.read_table("landing_files").to_pylist()}
        assert [ledger[k]["ingest_seq"] for k in ("k1", "k2")] == [1, 2]
        assert ledger["k2"]["seen_seq"] == 2 and ledger["k1"]["path"] == row["path"]
        wh.run("ingest/landing_file_forget", {"sha256": "k1"})  # drops a rejected entry only
        assert {r["sha256"] for r in wh.read_table("landing_files").to_pylist()} == {"k2"}
        wh.run("ingest/create_raw_models")
        assert wh.query("ingest/recover_raw_models").num_rows == 0


def test_a_spark_writer_killed_before_publishing_leaves_the_last_state_and_repair_cleans_up(spark, tmp_path):
    """A kill after a part was written but before the catalog named it (simulated: the transaction is entered
    and never left): another session still sees the last published table, and repair (run when a run starts)
    deletes the orphaned part and nothing else."""
    from showdown_pipeline.core.spark_warehouse import repair, spark_session

    root = tmp_path / "tables"
    with spark_session(spark, root) as wh:
        wh.replace_table("board", pa.table({"a": [1]}))
    published = sorted(p.name for p in (root / "tables" / "board").iterdir())
    with spark_session(spark, root) as writer:
        block = writer.transaction()
        block.__enter__()
        writer.replace_table("board", pa.table({"a": [2, 3]}))  # the part is written, not published
        orphaned = sorted(p.name for p in (root / "tables" / "board").iterdir() if p.name not in published)
        assert len(orphaned) == 1
        with spark_session(spark, root) as reader:
            assert reader.read_table("board").column("a").to_pylist() == [1]
    assert repair(root) == [f"tables/board/{orphaned[0]}"]
    assert sorted(p.name for p in (root / "tables" / "board").iterdir()) == published
    with spark_session(spark, root) as wh:
        assert wh.read_table("board").column("a").to_pylist() == [1]


def _swap_and_append(wh) -> dict:
    """A table built whole put in place, rows added by name, and both undone by a failed transaction."""
    wh.replace_table("kept_table", pa.table({"id": [1], "why": ["old"]}))
    wh.replace_table("built_table", pa.table({"id": [2, 3], "why": ["new", None]}))
    wh.swap_table("built_table", "kept_table")
    wh.replace_table("extra_rows", pa.table({"why": ["by name"], "id": pa.array([4], pa.int32())}))
    wh.append_table("extra_rows", "kept_table")  # columns by name, int32 cast to the target's int64
    with pytest.raises(RuntimeError), wh.transaction():
        wh.replace_table("more_rows", pa.table({"id": [5]}))
        wh.append_table("more_rows", "kept_table")
        raise RuntimeError("crash inside the transaction")
    wh.replace_table("wrong_rows", pa.table({"id": [6], "not_a_column": [1]}))
    with pytest.raises(WarehouseError, match="append_table wrong_rows kept_table"):
        wh.append_table("wrong_rows", "kept_table")
    with pytest.raises(WarehouseError, match="swap_table"):
        wh.swap_table("no_such_table", "kept_table")
    rows = wh.read_table("kept_table").to_pylist()
    return {
        "rows": sorted((r["id"], r["why"] or "") for r in rows),
        "tables": {t for t in wh.table_names() if t != "wrong_rows"},
    }


def test_swap_and_append_agree_on_both_engines(spark, tmp_path):
    """The incremental validation's two table moves (core/validation.py): the same rows and tables on
    DuckDB and Spark, a failed transaction undoing both, a column the target lacks refused on both."""
    from showdown_pipeline.core.spark_warehouse import spark_session

    with duckdb_session(tmp_path / "w.duckdb") as wh:
        on_duckdb = _swap_and_append(wh)
    with spark_session(spark, tmp_path / "tables") as wh:
        on_spark = _swap_and_append(wh)
    expected = {"rows": [(2, "new"), (3, ""), (4, "by name")], "tables": {"kept_table"}}
    assert on_duckdb == expected and on_spark == expected
