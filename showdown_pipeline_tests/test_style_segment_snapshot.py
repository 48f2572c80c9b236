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
