"""Every number the boards publish, on real and seeded worlds: the reference the one-solver rewrite of
`core/bradley_terry.py` (issue 13) is held to.

`published_numbers()` builds the raw board (sandwich, bootstrap and voter-clustered intervals), the
plain maximum-likelihood fit, the segment boards (shrinkage chosen on held-out votes, bootstrap) and
the style board on: the real 2023 Chatbot Arena file, the real LLMFAO crowd comparisons, the real
two-group Arena cut (two components, models that never lose or never win) and a seeded style world.
The committed fixture `fixtures/solver/published_before_one_solver.json` holds these numbers as the
estimators computed them before the rewrite (commit 0b33408); `test_one_solver.py` compares.

    python -m showdown_pipeline_tests.core.solver_regression --write   # only to pin a deliberate change
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from showdown_pipeline import settings
from showdown_pipeline.core import boards
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline_tests.landing_builder import REAL_FIXTURES
from showdown_pipeline_tests.real_subsets import two_group_arena_log

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "solver" / "published_before_one_solver.json"
ELO_COLUMNS = (
    "rating",
    "ci_lower",
    "ci_upper",
    "sandwich_lower",
    "sandwich_upper",
    "cluster_lower",
    "cluster_upper",
    "rating_unshrunk",
    "diff_vs_overall",
    "diff_lower",
    "diff_upper",
)
LOGIT_COLUMNS = ("theta", "se")  # compared after multiplying by the Elo scale
EXACT_COLUMNS = ("model_id", "rank", "provisional_reason", "ci_method", "component", "differs_from_overall")
ARENA_WINNER = {"model_a": "left", "model_b": "right", "tie": "both_good", "tie (bothbad)": "both_bad"}


def _votes_to_cells(votes: pd.DataFrame, keys: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, stats) from one row per vote with model_left, model_right, winner, voter (and `keys`)."""
    cells = votes.groupby([*keys, "model_left", "model_right", "winner"], as_index=False).size()
    cells = cells.rename(columns={"size": "n"})
    sides = pd.concat(
        [
            votes[[*keys, "model_left", "voter"]].rename(columns={"model_left": "model_id"}),
            votes[[*keys, "model_right", "voter"]].rename(columns={"model_right": "model_id"}),
        ]
    )
    per_voter = sides.groupby([*keys, "model_id", "voter"]).size()
    grouped = per_voter.groupby(level=[*keys, "model_id"])
    stats = pd.DataFrame(
        {"votes": grouped.sum(), "users": grouped.size(), "top_user_share": grouped.max() / grouped.sum()}
    ).reset_index()
    return cells, stats


def _board_numbers(frame: pd.DataFrame) -> dict:
    out = {}
    for column in (*ELO_COLUMNS, *LOGIT_COLUMNS):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        out[column] = [None if np.isnan(v) else float(v) for v in values]
    for column in EXACT_COLUMNS:
        out[column] = [
            None if pd.isna(v) else (v if isinstance(v, str) else np.asarray(v).item()) for v in frame[column]
        ]
    for key in ("segment_value", "segment_dim", "board"):
        out[key] = [str(v) for v in frame[key]]
    return out


def _clustered(board: boards.Board, votes: pd.DataFrame) -> dict:
    models = sorted(set(votes["model_left"]) | set(votes["model_right"]))
    code = {m: i for i, m in enumerate(models)}
    voter = pd.factorize(votes["voter"], sort=True)[0]
    score = votes["winner"].map({"left": 1.0, "right": 0.0, "both_good": 0.5, "both_bad": 0.5})
    return boards.add_voter_clustered_interval(
        board,
        models,
        voter,
        votes["model_left"].map(code).to_numpy(),
        votes["model_right"].map(code).to_numpy(),
        score.to_numpy(dtype=float),
        np.ones(len(votes)),
    )


def _world(name: str, votes: pd.DataFrame, anchor: str, segment_of: pd.Series | None) -> dict:
    """The raw board with every interval, the plain fit, and (when given) a segment dimension."""
    cells, stats = _votes_to_cells(votes)
    board = boards.build_board(cells, stats, anchor, 1000.0, bootstrap_rounds=40, seed=5)
    effect = _clustered(board, votes)
    out = {"raw": _board_numbers(board.frame), "design_effect": effect}
    counts = boards.pair_counts_from_frame(cells)
    if len(bt.components(counts)) == 1:
        plain = bt.fit_bradley_terry(counts, anchor)
        out["plain_elo"] = list(plain.ratings(1000.0))
        out["plain_se_elo"] = list(bt.ELO_SCALE * plain.centred_se())
    if segment_of is not None:
        seg_cells, seg_stats = _votes_to_cells(votes.assign(segment_value=segment_of), ("segment_value",))
        sd, scores = boards.choose_shrinkage(seg_cells, board, seed=1)
        frame = boards.build_segment_boards(
            seg_cells, seg_stats, board, "country", sd, bootstrap_rounds=30, seed=2
        )
        out["segments"] = {"prior_sd": sd, "heldout": scores, "board": _board_numbers(frame)}
    return out


def arena_votes() -> pd.DataFrame:
    raw = pd.read_json(REAL_FIXTURES / "arena_2023_human_votes.jsonl", lines=True)
    return _arena_frame(raw)


def _arena_frame(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_left": raw["model_a"].astype(str),
            "model_right": raw["model_b"].astype(str),
            "winner": raw["winner"].map(ARENA_WINNER),
            "voter": raw["num"] % 701,  # the file names no voter: a fixed, arbitrary grouping
            "question": raw["question_id"].astype(str),
        }
    )


def llmfao_votes() -> pd.DataFrame:
    raw = pd.read_csv(REAL_FIXTURES / "llmfao_crowd_comparisons.csv")
    return pd.DataFrame(
        {
            "model_left": raw["left"].astype(str),
            "model_right": raw["right"].astype(str),
            "winner": raw["winner"].map({"left": "left", "right": "right", "tie": "both_good"}),
            "voter": raw["worker"],
            "prompt": raw["prompt"],
        }
    )


def style_world(seed: int = 21, n: int = 30_000) -> pd.DataFrame:
    """Seeded style votes: six models, the five style features, known coefficients, ties."""
    rng = np.random.default_rng(seed)
    strength = np.array([0.5, 0.3, 0.1, 0.0, -0.2, -0.6])
    left = rng.integers(0, 6, n)
    right = (left + rng.integers(1, 6, n)) % 6
    features = {k: np.round(rng.normal(0, 0.4, n), 2) for k in boards.STYLE_FEATURES}
    d = strength[left] - strength[right] + 0.7 * features["tokens"] - 0.3 * features["bold"]
    p = 1 / (1 + np.exp(-d))
    tie = rng.random(n) < 0.4 * 4 * p * (1 - p)
    left_wins = rng.random(n) < (p - 0.2 * 4 * p * (1 - p)) / (1 - 0.4 * 4 * p * (1 - p))
    winner = np.where(tie, "both_good", np.where(left_wins, "left", "right"))
    names = np.array([f"s{i}" for i in range(6)])
    frame = pd.DataFrame(
        {"model_left": names[left], "model_right": names[right], "winner": winner, **features}
    )
    return frame.groupby(
        ["model_left", "model_right", "winner", *boards.STYLE_FEATURES], as_index=False
    ).size()


def _style(rows: pd.DataFrame) -> dict:
    rows = rows.rename(columns={"size": "n"})
    votes = rows.loc[rows.index.repeat(rows["n"])].assign(voter=0)
    _, stats = _votes_to_cells(votes)
    board = boards.build_style_board(rows, stats, "s3", 1000.0)
    return {
        "board": _board_numbers(board.frame),
        "coefficients": board.extra["coefficients"],
    }


def _direct_fits() -> dict:
    """Fits the boards do not show whole: the fallback ridge, a shrunk fit, a plain style fit."""
    never_wins = bt.PairCounts.from_cells(
        ["a", "a", "b", "a", "b"], ["b", "b", "a", "c", "c"], [1.0, 0.0, 1.0, 1.0, 1.0], [30, 20, 5, 40, 10]
    )
    ridge = bt.fit_bradley_terry(never_wins, "a")
    llmfao = boards.pair_counts_from_frame(_votes_to_cells(llmfao_votes())[0])
    prior = np.linspace(-1.0, 1.0, llmfao.n_models)
    shrunk = bt.fit_shrunk(llmfao, prior, 4.0)
    return {
        "ridge_elo": list(ridge.ratings(1000.0)),
        "ridge_cov": np.asarray(ridge.cov).ravel().tolist(),
        "shrunk_theta": list(shrunk.theta),
        "shrunk_cov": np.asarray(shrunk.cov).ravel().tolist(),
    }


def published_numbers() -> dict:
    arena = arena_votes()
    bucket = arena["question"].str[0].map(lambda c: "abc"[int(c, 16) % 3])
    llmfao = llmfao_votes()
    with tempfile.TemporaryDirectory() as scratch:
        kept = two_group_arena_log(REAL_FIXTURES / "arena_2023_human_votes.jsonl", Path(scratch) / "a.jsonl")
    with_groups = _arena_frame(pd.DataFrame(kept))
    return {
        "arena": _world("arena", arena, "gpt-4", bucket),
        "llmfao": _world("llmfao", llmfao, llmfao["model_left"].min(), llmfao["prompt"] % 3),
        "two_groups": _world("two_groups", with_groups, "gpt-4", None),
        "style": _style(style_world()),
        "direct": _direct_fits(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="overwrite the committed fixture")
    args = parser.parse_args()
    settings.pin_blas_threads()  # as the pipeline's processes and the tests (conftest loads the definitions)
    numbers = published_numbers()
    text = json.dumps(numbers, indent=1, sort_keys=True, default=float)
    if args.write:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(text + "\n", encoding="utf-8")
    else:
        print(text[:2000])


if __name__ == "__main__":
    main()
