"""The style segment boards in a real materialized snapshot (the messy landing zone, every stage): rows for
every segment dimension, shrunk towards the overall style board, withheld below k voters like the raw ones,
with their parameters in the manifest."""

from __future__ import annotations

import numpy as np

from showdown_pipeline import snapshots
from showdown_pipeline.core import style_segments
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.core.snapshots import LEADERBOARD_SCHEMA, SCHEMA_VERSION


def test_style_segment_rows_for_every_dimension_in_a_published_snapshot(published_template):
    snap = snapshots.latest(published_template.home)
    board = snap.leaderboard()
    assert (
        list(board.columns) == LEADERBOARD_SCHEMA.names and snap.manifest["schema_version"] == SCHEMA_VERSION
    )
    style = board[(board["board"] == "style") & (board["segment_dim"] != "overall")]
    raw = board[(board["board"] == "raw") & (board["segment_dim"] != "overall")]
    assert set(style["segment_dim"]) == set(SEGMENT_DIMENSIONS)
    overall = board[(board["board"] == "style") & (board["segment_dim"] == "overall")].set_index("model_id")
    for dim in SEGMENT_DIMENSIONS:
        mine = style[style["segment_dim"] == dim]
        # the same published values as the raw boards: FR (one voter) is withheld from both
        assert set(mine["segment_value"]) == set(raw.loc[raw["segment_dim"] == dim, "segment_value"])
        assert set(mine["model_id"]) <= set(overall.index)
        # shrunk towards the overall style board: the difference is from its rating, not the raw one's
        np.testing.assert_allclose(
            mine["rating"] - overall.loc[mine["model_id"], "rating"].to_numpy(),
            mine["diff_vs_overall"],
            atol=1e-6,
        )
        assert mine["ci_method"].str.endswith(style_segments.STYLE_METHOD).all()
        assert (mine["ci_lower"] <= mine["rating"]).all() and (mine["rating"] <= mine["ci_upper"]).all()
        parameters = snap.manifest["segments"][dim]["style"]
        assert parameters["prior_sd"] > 0 and parameters["prior_sd_source"] == "held-out likelihood"
        assert parameters["coefficient_test"]["min_votes"] == style_segments.STYLE_TEST_MIN_VOTES
    assert "FR" not in set(style.loc[style["segment_dim"] == "country", "segment_value"])
    # the coefficient test's column is null off the style segment rows (and here: no value has the votes)
    assert board["style_shift_p_value"].isna().all()


def test_one_read_of_the_style_rows_gives_each_dimension_what_its_own_group_by_gives(published_template):
    """sql/ratings/segment_style_votes.sql reads every dimension's style rows in one pass; split by one
    dimension (StyleVotes.of) they are, row for row and in order, what a GROUP BY (value, models, score,
    features) over that dimension's segmented_votes rows returns (the view that says which column a
    dimension reads): same values, rows, counts and order, so the fits add the same rows in the same order
    (each value's offsets βᵀz, computed from a slice instead of a copy, agree to rounding: ~1e-15)."""
    import duckdb

    from showdown_pipeline.core import sql as sql_files

    per_dimension = """
        SELECT segment_value, (list_position($models, model_left) - 1)::INTEGER AS left_code,
            (list_position($models, model_right) - 1)::INTEGER AS right_code, score,
            coalesce((tokens_left - tokens_right) / nullif(tokens_left + tokens_right, 0), 0.0) AS tokens,
            coalesce((headers_left - headers_right) / nullif(headers_left + headers_right, 0), 0.0) AS headers,
            coalesce((lists_left - lists_right) / nullif(lists_left + lists_right, 0), 0.0) AS lists,
            coalesce((bold_left - bold_right) / nullif(bold_left + bold_right, 0), 0.0) AS bold,
            coalesce((latency_ms_left - latency_ms_right) / nullif(latency_ms_left + latency_ms_right, 0), 0.0)
                AS latency_ms,
            count(*) AS n
        FROM segmented_votes
        WHERE segment_dim = $dim AND segment_value IS NOT NULL AND (voted_at < $cutoff OR voted_at IS NULL)
            AND tokens_left IS NOT NULL AND tokens_right IS NOT NULL AND headers_left IS NOT NULL
            AND headers_right IS NOT NULL AND lists_left IS NOT NULL AND lists_right IS NOT NULL
            AND bold_left IS NOT NULL AND bold_right IS NOT NULL AND latency_ms_left IS NOT NULL
            AND latency_ms_right IS NOT NULL
        GROUP BY ALL ORDER BY ALL
    """
    cutoff = "2026-06-01 00:00:00+00"
    with duckdb.connect(str(published_template.home / "warehouse.duckdb"), read_only=True) as conn:
        models = [m for (m,) in conn.execute(sql_files.load_sql("ratings/counted_models")).fetchall()]
        table = conn.sql(
            sql_files.load_sql("ratings/segment_style_votes"), params={"cutoff": cutoff, "models": models}
        ).to_arrow_table()
        votes = style_segments.StyleVotes.from_arrow(table, models, SEGMENT_DIMENSIONS)
        assert votes.rows.votes > 100
        for dim in SEGMENT_DIMENSIONS:
            expected = conn.execute(per_dimension, {"dim": dim, "cutoff": cutoff, "models": models}).df()
            rows, codes, names = votes.of(dim)
            assert len(expected) and len(rows.score) == len(expected), dim
            np.testing.assert_array_equal(
                np.array(names)[codes], expected["segment_value"].to_numpy(dtype=str)
            )
            np.testing.assert_array_equal(rows.left, expected["left_code"])
            np.testing.assert_array_equal(rows.right, expected["right_code"])
            np.testing.assert_array_equal(rows.score, expected["score"])
            np.testing.assert_array_equal(
                rows.features.T, expected[list(style_segments.boards.STYLE_FEATURES)]
            )
            np.testing.assert_array_equal(rows.weight, expected["n"])
