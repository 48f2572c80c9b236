"""The dedupe kept per key equals the dedupe of everything at once, for any records split over deliveries.

Hypothesis draws records over a handful of vote_ids, users and battles (so exact copies, re-exports, earlier
and later votes on one battle and re-exports moving a vote to another battle all happen), delivers them in
two to four files one run at a time (core/validation.validate_votes: nights), and compares vote_duplicates
and votes_clean with one full validation of the same ledger, and with an independent dedupe in Python."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showdown_pipeline.core import landing as landing_mod
from showdown_pipeline.core import normalise, validation
from showdown_pipeline.core.sql import prepare_connection
from showdown_pipeline.core.warehouse import DuckDBSession

RECORD = st.fixed_dictionaries(
    {
        "vote_id": st.sampled_from(["v1", "v2", "v3", "v4"]),
        "user_id": st.sampled_from(["u1", "u2"]),
        "battle_id": st.sampled_from(["b1", "b2", "b3"]),
        "voted_minute": st.integers(0, 3),
        "exported_minute": st.sampled_from([None, 10, 11, 12]),
        "winner": st.sampled_from(["left", "right"]),
    }
)


def _row(record: dict) -> dict:
    exported = record["exported_minute"]
    return {
        "vote_id": record["vote_id"],
        "battle_id": record["battle_id"],
        "user_id": record["user_id"],
        "voted_at": f"2026-05-01T00:0{record['voted_minute']}:00Z",
        "exported_at": None if exported is None else f"2026-05-01T00:{exported}:00Z",
        "model_left": "m-a",
        "model_right": "m-b",
        "winner": record["winner"],
    }


def _session(path) -> DuckDBSession:
    conn = duckdb.connect(str(path))
    prepare_connection(conn)
    session = DuckDBSession(conn)
    landing_mod.create_ingest_tables(session)
    normalise.build_model_registry(session, None)  # no models.csv: an empty registry
    normalise.build_contributors_checked(session)
    session.run("validate/contributor_profiles")
    return session


def _sha(seq: int) -> str:
    return f"{seq:02x}" * 32  # row keys start with the sha's first 16 characters: make them differ


def _deliver(session: DuckDBSession, seq: int, rows: list[dict]) -> None:
    sha = _sha(seq)
    session.conn.execute(
        "INSERT INTO landing_files (sha256, path, kind, format, size_bytes, landed_at, ingest_seq, status, "
        "rows_in, blank_lines, error, ingested_at, run_id) "
        "VALUES ($sha, $path, 'votes', 'jsonl', 1, now(), $seq, 'ingested', $n, 0, NULL, now(), 'r')",
        {"sha": sha, "path": f"votes/{seq:02d}.jsonl", "seq": seq, "n": len(rows)},
    )
    columns = {"source_sha256": [sha] * len(rows), "source_row": list(range(len(rows)))}
    columns.update({k: [r[k] for r in rows] for k in rows[0]})
    columns["source_kind"] = ["votes"] * len(rows)
    arrow = pa.table(
        {k: pa.array(v, pa.int64() if k == "source_row" else pa.string()) for k, v in columns.items()}
    )
    session.conn.register("_rows", arrow)
    session.conn.execute("INSERT INTO raw_votes BY NAME SELECT * FROM _rows")
    session.conn.unregister("_rows")


def _state(session: DuckDBSession) -> tuple[list, list]:
    duplicates = session.conn.execute("SELECT * FROM vote_duplicates ORDER BY ALL").fetchall()
    clean = session.conn.execute("SELECT row_key FROM votes_clean ORDER BY ALL").fetchall()
    return duplicates, clean


def _expected(deliveries: list[list[dict]]) -> set[str]:
    """Row keys that count, by the three rules written again in Python (an independent implementation)."""
    records = []
    for seq, rows in enumerate(deliveries, start=1):
        for i, r in enumerate(rows):
            records.append({**r, "key": _sha(seq)[:16] + f":{i}", "order": (seq, i)})
    first_of_content: dict[tuple, dict] = {}
    for r in sorted(records, key=lambda r: r["order"]):
        first_of_content.setdefault(
            tuple(sorted((k, str(v)) for k, v in r.items() if k not in ("key", "order"))), r
        )
    by_vote: dict[str, dict] = {}
    for r in first_of_content.values():
        rank = (r["exported_at"] is not None, r["exported_at"] or "", r["order"])
        best = by_vote.get(r["vote_id"])
        if best is None or rank > (best["exported_at"] is not None, best["exported_at"] or "", best["order"]):
            by_vote[r["vote_id"]] = r
    by_battle: dict[tuple, dict] = {}
    for r in by_vote.values():
        best = by_battle.get((r["user_id"], r["battle_id"]))
        if best is None or (r["voted_at"], r["order"]) < (best["voted_at"], best["order"]):
            by_battle[(r["user_id"], r["battle_id"])] = r
    return {r["key"] for r in by_battle.values()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries=st.lists(st.lists(RECORD, min_size=1, max_size=6), min_size=2, max_size=4))
def test_nights_equal_one_full_validation_and_an_independent_dedupe(deliveries, tmp_path_factory):
    rows = [[_row(r) for r in delivery] for delivery in deliveries]
    base = tmp_path_factory.mktemp("dedupe")
    night, full = _session(base / "night.duckdb"), _session(base / "full.duckdb")
    try:
        modes = []
        for seq, delivery in enumerate(rows, start=1):
            _deliver(night, seq, delivery)
            _deliver(full, seq, delivery)
            modes.append(validation.validate_votes(night).mode)
        validation.validate_votes(full, full=True)
        assert modes == ["full"] + ["night"] * (len(rows) - 1)
        assert _state(night) == _state(full)
        assert {k for (k,) in _state(night)[1]} == _expected(rows)
    finally:
        night.conn.close()
        full.conn.close()
