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
