"""`showdown rate`: a leaderboard from any plain vote table, without the rest of the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from showdown_pipeline.core import boards, normalise
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.run_cut import DEFAULT_ANCHOR_RATING
from showdown_pipeline.core.warehouse import WarehouseSession, duckdb_session

RATE_COLUMNS = ("model_id", "rating", "ci_lower", "ci_upper", "rank", "votes")
# Which scale a row is on: 1 = the anchor's connected component; another number = a part of the
# comparison graph no vote links to the anchor, rated with its own anchor (`component_anchor`).
COMPONENT_COLUMNS = ("component", "component_anchor")


@dataclass
class RatedTable:
    board: pd.DataFrame  # RATE_COLUMNS + sandwich_lower/upper (+ cluster_lower/upper) + COMPONENT_COLUMNS
    rows_in: int
    rows_scored: int
    anchor: str
    anchor_rating: float
    labels: str  # arena | canonical
    ci_method: str
    coefficients: list[dict]
    clustering: dict | None = None  # voters and design effect, with by_voter
    components: list[dict] = field(default_factory=list)  # boards.Component.describe per component
    unrated: dict[str, str] = field(default_factory=dict)  # model -> why it has no row
    prior_precision: float = 0.0


def _file_format(path: Path) -> str:
    """How the file is read (the seam's file_view formats), from its name."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")):
        return "json"
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise ValueError(f"unsupported vote table {path.name}: use .parquet, .jsonl[.gz], .json or .csv")


def _label_kind(path: Path, columns: set[str]) -> str:
    """arena | canonical: which labels the table's columns (lower case) carry."""
    if {"model_a", "model_b", "winner"} <= columns:
        return "arena"
    if {"model_left", "model_right", "winner"} <= columns:
        return "canonical"
    raise ValueError(
        f"{path.name} needs columns model_a, model_b, winner (LMArena labels) or "
        f"model_left, model_right, winner (canonical); found {sorted(columns)}"
    )


@contextmanager
def _open_vote_table(path: Path) -> Iterator[tuple[WarehouseSession, str, set[str]]]:
    """A scratch session with the file as the view `vote_table` (lazy: a statement reads only the columns it
    uses) and, in canonical columns whatever its labels, as the views `votes_table_canonical` (every row)
    and `votes_table_scorable` (rows a fit can score), which every other `rate/` statement reads; yields
    (the session, its labels: arena | canonical, its lower-case column names)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no vote table at {path}")
    file_format = _file_format(path)
    with duckdb_session(":memory:") as session, session.file_view("vote_table", path, file_format):
        columns = {c.lower() for c in session.query("rate/vote_table_columns").column_names}
        labels = _label_kind(path, columns)
        session.run(f"rate/normalise_{labels}")
        session.run("rate/scorable")
        _refuse_hidden_model_ids(session, path)
        yield session, labels, columns


def _refuse_hidden_model_ids(session: WarehouseSession, path: Path) -> None:
    """A model id that prints as another's (normalise.MODEL_ID_HIDDEN_PATTERN, the pipeline's rule) makes
    two rows of the board read as one model: the table is refused, naming the first such ids (escaped)."""
    pattern = {"model_id_hidden_pattern": normalise.MODEL_ID_HIDDEN_PATTERN}
    hidden = [r["model_id"] for r in session.rows("rate/hidden_model_ids", pattern)]
    if hidden:
        raise ValueError(
            f"{path.name} names model ids that print as another's (an invisible or control character, a "
            f"space other than ASCII's, or a space at an end or doubled): {', '.join(map(ascii, hidden))}"
        )


VOTER_COLUMN = {"arena": "judge", "canonical": "user_id"}


def load_cells(path: Path, by_voter: bool = False) -> tuple[pd.DataFrame, int, str, dict | None]:
    """(Bradley-Terry cells, rows in the file, label kind, voter cells), aggregated in DuckDB. With
    `by_voter`, the voter cells are the same votes split by voter (`judge` or `user_id`) as arrays
    for boards.add_voter_clustered_interval; otherwise None."""
    with _open_vote_table(path) as (session, labels, columns):
        cells = session.query("rate/cells").to_pandas()
        rows_in = int(session.one("rate/row_count")["n"])
        voter_cells = None
        if by_voter:
            if VOTER_COLUMN[labels] not in columns:
                raise ValueError(
                    f"--by-voter needs a {VOTER_COLUMN[labels]} column in a table with {labels} labels"
                )
            models = [r["model_id"] for r in session.rows("rate/models")]
            table = session.query("rate/voter_cells", {"models": models})
            voter_cells = {"models": models} | {
                c: table.column(c).to_numpy() for c in ("voter", "left_code", "right_code", "score", "n")
            }
    return cells, rows_in, labels, voter_cells


def load_style_rows(path: Path) -> tuple[boards.StyleRows, int, str]:
    """(style rows, rows in the file, label kind): one row per distinct (models, winner, style
    features), models as integer codes computed in DuckDB."""
    with _open_vote_table(path) as (session, labels, _):
        models = [r["model_id"] for r in session.rows("rate/models")]
        rows = boards.StyleRows.from_arrow(session.query("rate/style_rows", {"models": models}), models)
        rows_in = int(session.one("rate/row_count")["n"])
    return rows, rows_in, labels


def _vote_stats(votes: pd.Series) -> pd.DataFrame:
    """Per-model votes for the provisional flags; a plain table has no voter ids to count."""
    return pd.DataFrame(
        {"model_id": votes.index, "votes": votes.to_numpy(), "users": 0, "top_user_share": 0.0}
    )


def rate_table(
    path: Path,
    bootstrap: int = boards.OverallSettings.bootstrap_rounds,
    anchor: str | None = None,
    anchor_rating: float = DEFAULT_ANCHOR_RATING,
    seed: int = 0,
    workers: int = boards.OverallSettings.workers,
    style: bool = False,
    by_voter: bool = False,
) -> RatedTable:
    """Rate a vote table; with `style`, the style-controlled board (sandwich interval) and its
    coefficients (in `RatedTable.coefficients`); with `by_voter`, also the sandwich interval
    clustered by voter (cluster_lower/cluster_upper) and its design effect (`RatedTable.clustering`)."""
    if style and by_voter:
        raise ValueError("--by-voter is for the raw board; the style board's rows are not split by voter")
    coefficients: list[dict] = []
    clustering: dict | None = None
    if style:
        rows, rows_in, labels = load_style_rows(path)
        if rows.votes == 0:
            raise bt.RatingError(f"{Path(path).name} has no scorable votes with style features")
        rows_scored = int(rows.votes)
        votes = rows.votes_per_model()
        anchor = anchor or str(votes.index[0])
        board = boards.build_style_board(rows, _vote_stats(votes), anchor, anchor_rating)
        coefficients = board.extra["coefficients"]
    else:
        cells, rows_in, labels, voter_cells = load_cells(path, by_voter=by_voter)
        if cells.empty:
            raise bt.RatingError(f"{Path(path).name} has no scorable votes")
        rows_scored = int(cells["n"].sum())
        anchor = anchor or str(min(cells["model_left"].min(), cells["model_right"].min()))
        votes = (
            pd.concat([cells.groupby("model_left")["n"].sum(), cells.groupby("model_right")["n"].sum()])
            .groupby(level=0)
            .sum()
        )
        board = boards.build_board(
            cells,
            _vote_stats(votes),
            anchor,
            anchor_rating,
            bootstrap_rounds=bootstrap,
            seed=seed,
            workers=workers,
        )
        if voter_cells is not None:
            clustering = boards.add_voter_clustered_interval(
                board,
                voter_cells["models"],
                *(voter_cells[c] for c in ("voter", "left_code", "right_code", "score", "n")),
            )
    frame = board.frame
    columns = [*RATE_COLUMNS, "sandwich_lower", "sandwich_upper"]
    columns += ["cluster_lower", "cluster_upper"] if clustering else []
    return RatedTable(
        board=frame[[*columns, *COMPONENT_COLUMNS]].reset_index(drop=True),
        rows_in=rows_in,
        rows_scored=rows_scored,
        anchor=anchor,
        anchor_rating=anchor_rating,
        labels=labels,
        ci_method=str(frame["ci_method"].iloc[0]),
        coefficients=coefficients,
        clustering=clustering,
        components=[c.describe(anchor_rating) for c in board.components],
        unrated=dict(board.unrated),
        prior_precision=float(board.extra.get("prior_precision", 0.0)),
    )
