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


# ------------------------------------------------------------------------------------ results in slices
# session.query_slices: a statement's result run once and handed over in slices (the GX suite reads the
# votes it checks this way, core/expectations.validate_unchecked_votes).

SUITE_SQL = "validate/votes_for_expectations"


def _suite_tables(n: int) -> tuple[pa.Table, pa.Table]:
    """votes_clean with the columns the suite's statement reads (and row_key), and the keys of every third
    row as votes_clean_unchecked."""
    from showdown_pipeline.core.expectations import SUITE_COLUMNS

    keys = [f"k{i:06d}" for i in range(n)]
    columns = {"row_key": keys} | {c: [f"{c}-{i}" for i in range(n)] for c in SUITE_COLUMNS}
    return pa.table(columns), pa.table({"row_key": keys[::3]})


def _sizes(total: int, rows: int) -> list[int]:
    return [rows] * (total // rows) + ([total % rows] if total % rows or not total else [])


def test_slices_regroup_batches_in_order_and_cut_them_where_a_slice_ends():
    from showdown_pipeline.core.warehouse import slices_of

    schema = pa.schema([("i", pa.int64())])
    batches = [
        pa.record_batch([pa.array(range(a, b), pa.int64())], schema=schema)
        for a, b in ((0, 3), (3, 3), (3, 8), (8, 10))
    ]
    got = list(slices_of(schema, batches, 4))
    assert [t.column("i").to_pylist() for t in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [t.num_rows for t in slices_of(schema, batches, 5)] == [5, 5]
    (empty,) = slices_of(schema, [], 4)
    assert empty.num_rows == 0 and empty.schema == schema
    with pytest.raises(ValueError, match="at least one row"):
        list(slices_of(schema, batches, 0))


def test_duckdb_streams_a_result_once_in_slices_of_the_size_asked(tmp_path):
    """Every row once, in the statement's order, in slices of `rows` (the last fewer); an empty result is one
    empty slice with the statement's columns; the session runs statements again after the last slice."""
    votes, unchecked = _suite_tables(1_000)
    with duckdb_session(tmp_path / "w.duckdb") as wh:
        wh.replace_table("votes_clean", votes)
        wh.replace_table("votes_clean_unchecked", unchecked)
        whole = wh.query(SUITE_SQL)
        assert whole.num_rows == 334
        for rows in (1, 7, 100, 334, 335, 1_000_000):
            slices = list(wh.query_slices(SUITE_SQL, rows=rows))
            assert [s.num_rows for s in slices] == _sizes(334, rows), rows
            assert pa.concat_tables(slices).equals(whole)
        wh.replace_table("votes_clean_unchecked", unchecked.slice(0, 0))
        (only,) = wh.query_slices(SUITE_SQL, rows=10)
        assert only.num_rows == 0 and only.schema == whole.schema
        assert "votes_clean" in wh.table_names()  # a statement runs again once the slices are read
        with pytest.raises(ValueError, match="at least one row"):
            next(wh.query_slices(SUITE_SQL, rows=0))


def test_a_statement_failing_while_streamed_is_an_error_naming_it(tmp_path, monkeypatch):
    """A row that fails the statement deep in its result (after the first slices went out) raises the
    statement's WarehouseError, as `query` would."""
    from showdown_pipeline.core import warehouse

    failing = (
        "SELECT CAST(CASE WHEN i < 250000 THEN '1' ELSE 'x' END AS INTEGER) AS v FROM range(300000) AS t (i)"
    )
    monkeypatch.setattr(warehouse, "load_sql", lambda name: failing)
    with duckdb_session(tmp_path / "w.duckdb") as wh:
        with pytest.raises(WarehouseError, match="^some/statement: .*Conversion"):
            for _ in wh.query_slices("some/statement", rows=1_000):
                pass
        with pytest.raises(WarehouseError, match="^some/statement: .*Conversion"):
            wh.query("some/statement")


def test_spark_gives_the_same_rows_in_slices_and_never_collects_more_than_one(spark, tmp_path, monkeypatch):
    """On Spark too, every row once in slices of `rows`; no collect into the driver holds more than a slice
    (a collect of the whole result fails above spark.driver.maxResultSize, 1 GB by default)."""
    from showdown_pipeline.core.spark_warehouse import spark_session

    DataFrame = type(spark.range(1))  # Spark 4's classic DataFrame, the class that collects
    collected: list[int] = []
    to_arrow = DataFrame.toArrow

    def counting(frame):
        table = to_arrow(frame)
        collected.append(table.num_rows)
        return table

    monkeypatch.setattr(DataFrame, "toArrow", counting)
    votes, unchecked = _suite_tables(1_000)
    with spark_session(spark, tmp_path / "tables") as wh:
        wh.replace_table("votes_clean", votes)
        wh.replace_table("votes_clean_unchecked", unchecked)
        for rows in (100, 334, 1_000):
            collected.clear()
            slices = list(wh.query_slices(SUITE_SQL, rows=rows))
            assert [s.num_rows for s in slices] == _sizes(334, rows), rows
            keys = sorted(v for s in slices for v in s.column("vote_id").to_pylist())
            assert keys == sorted(f"vote_id-{i}" for i in range(0, 1_000, 3))
            assert sum(collected) == 334 and max(collected) <= rows
        assert len([n for n in collected if n]) == 1  # a result within one slice: one collect
        wh.replace_table("votes_clean_unchecked", unchecked.slice(0, 0))
        (only,) = wh.query_slices(SUITE_SQL, rows=100)
        assert only.num_rows == 0 and only.schema == slices[0].schema
        assert "votes_clean" in wh.table_names()
        with pytest.raises(WarehouseError, match="is not read in slices"):
            next(wh.query_slices("validate/forget_votes_clean_unchecked"))


def test_a_slice_handed_over_is_not_held_by_the_slicer():
    """The slicer keeps no reference to a slice it handed over (at most the batch it is cutting), so the caller
    frees a slice's memory before the next is read: with the slice kept, a 30M-vote GX suite held two."""
    import numpy as np
    import pyarrow.compute as pc

    from showdown_pipeline.core.warehouse import slices_of

    schema = pa.schema([("i", pa.int64())])
    batch_rows = 250_000

    def fresh():  # each batch newly allocated in Arrow's pool, referenced only by the slicer once yielded
        for k in range(8):
            yield pa.record_batch([pc.add(pa.array(np.arange(batch_rows)), k)], schema=schema)

    before = pa.total_allocated_bytes()
    slices = slices_of(schema, fresh(), 4 * batch_rows)
    first = next(slices)
    held = pa.total_allocated_bytes() - before
    assert held >= 4 * batch_rows * 8
    del first
    assert pa.total_allocated_bytes() - before <= batch_rows * 8  # the batch being cut, no more
    assert sum(t.num_rows for t in slices) == 4 * batch_rows
