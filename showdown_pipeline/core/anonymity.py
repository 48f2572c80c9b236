"""Who can be recognised in what we hand out (DESIGN §5): k-anonymity of licensed exports and the
smallest segment the public snapshot publishes. Plain Python/pandas on small, aggregated tables.

Licensed exports. The quasi-identifiers an export carries are a contributor's `country, age_band,
education, profession` and each vote's `language`. Every combination of them that appears in an export
is held by at least K_ANONYMITY distinct contributors. The algorithm (`anonymise`) works on the distinct
(contributor, combination) table that SQL computes, and returns value-level global recodings (one
value always becomes the same output, in every row and for every contributor) plus the (contributor,
combination) pairs to suppress; SQL applies both to the votes. It is a greedy loop in the spirit of
Datafly (Sweeney 1998), with a one-step lookahead:

  1. classes = distinct contributors per recoded combination; rows in classes smaller than k are "small";
  2. if none: done. If few contributors are in small classes (at most k, or MAX_SUPPRESSED_SHARE of the
     export's contributors if that is more): suppress the small rows (their votes leave the export), stop;
  3. otherwise try, for each attribute, moving every one of its values seen in a small row one level up
     its hierarchy (or two, three … : the first depth that helps); keep the try that takes the most
     contributors out of small classes per level climbed (ties: fewer rows changed, GENERALISE_FIRST)
     and go to 1. On a plateau where no single attribute helps (everybody unique on several attributes at
     once), take Datafly's own step: one level up for the attribute with the most distinct values among
     small rows. When nothing can be generalised any more, suppress the small rows and stop;
  4. take back, one value and one level at a time, every generalisation the kept rows do not need, or
     whose rows left in small classes can be suppressed within the same budget as step 2 (each person
     suppressed buying the finer value for at least k others).

Plain Datafly generalises the attribute with the most distinct values; on hostile worlds that drags a
whole crowd's profession to `other` because of three people in a rare language, which no coarser
profession can hide. The lookahead and step 4 keep generalisation to what actually merges classes.
Classes only merge under a global recoding, so a class that is big enough stays so, and every step
moves at least one value up, so the loop ends after at most as many steps as there are (value, level)
pairs. Hierarchies: country → UN M49 sub-region →
M49 region → other (data/m49_regions.csv, with its source); age band → 18-34 / 35-54 / 55+ → other;
education → school (primary, secondary, vocational) / tertiary (bachelor, master, doctorate) → other;
profession and language → other. A missing value (NULL) is a value of its own and is never generalised.

Public snapshot. A segment value (a country, a language …) held by fewer than K_ANONYMITY distinct
voters is not published: a board of three voters is a record of their votes (`withhold_small_segments`).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from showdown_pipeline.core.holdout import K_ANONYMITY
from showdown_pipeline.core.warehouse import WarehouseSession

CONTRIBUTOR_ATTRIBUTES = ("country", "age_band", "education", "profession")
QUASI_IDENTIFIERS = (*CONTRIBUTOR_ATTRIBUTES, "language")
# Ties between equally good generalisations go to the attribute a licensee needs least; taking back
# runs the other way, so a vote's language is kept first (on the 300k demo world this order keeps
# English and 13 other languages, 24 countries or sub-regions; the reverse kept 6 languages, none English).
GENERALISE_FIRST = ("profession", "age_band", "education", "country", "language")
HIERARCHY_DEPTH = {"country": 3, "age_band": 2, "education": 2, "profession": 1, "language": 1}
OTHER = "other"
# Suppress rather than generalise further once the contributors still in small classes are at most k
# (Datafly's own threshold) or this share of the export's contributors, whichever is larger: on a big
# export a handful of outliers should not coarsen a value for everybody.
MAX_SUPPRESSED_SHARE = 0.01
M49_FILE = Path(__file__).resolve().parent / "data" / "m49_regions.csv"

_AGE_BANDS = {
    "18-24": "18-34",
    "25-34": "18-34",
    "35-44": "35-54",
    "45-54": "35-54",
    "55-64": "55+",
    "65+": "55+",
}
_EDUCATION = {
    "primary": "school",
    "secondary": "school",
    "vocational": "school",
    "bachelor": "tertiary",
    "master": "tertiary",
    "doctorate": "tertiary",
}


@functools.cache
def m49_regions() -> dict[str, tuple[str, str]]:
    """ISO 3166-1 alpha-2 → (M49 sub-region, M49 region), from the reviewed data file."""
    with M49_FILE.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {r["country"]: (r["sub_region"], r["region"]) for r in rows if r["region"]}


@functools.cache
def _country_parents() -> dict[str, str]:
    parents: dict[str, str] = {}
    for country, (sub_region, region) in m49_regions().items():
        parents[country] = sub_region
        parents[sub_region] = region
        parents[region] = OTHER
    return parents


def generalise(attribute: str, value: str | None) -> str | None:
    """`value` one level up `attribute`'s hierarchy, or None when it cannot be generalised (`other`, NULL)."""
    if value is None or value == OTHER:
        return None
    if attribute == "country":
        return _country_parents().get(value, OTHER)
    if attribute == "age_band":
        return _AGE_BANDS.get(value, OTHER)
    if attribute == "education":
        return _EDUCATION.get(value, OTHER)
    return OTHER


@dataclass
class Anonymisation:
    """What `anonymise` decided. `recode[attribute]` maps each changed value to its output; `suppressed`
    holds the (contributor_key, quasi-identifiers…) rows whose votes leave the export."""

    recode: dict[str, dict[str, str]]
    suppressed: pd.DataFrame
    steps: list[dict] = field(default_factory=list)
    contributors: int = 0

    def report(self) -> dict:
        """The manifest's account: per attribute which values became what, and what was suppressed."""
        touched = set(self.suppressed["contributor_key"])
        return {
            "k": K_ANONYMITY,
            "quasi_identifiers": list(QUASI_IDENTIFIERS),
            "generalised": {a: dict(sorted(m.items())) for a, m in self.recode.items() if m},
            "steps": self.steps,
            "suppressed_combinations": len(self.suppressed),
            "contributors_with_suppressed_votes": len(touched),
        }


def anonymise(rows: pd.DataFrame, k: int = K_ANONYMITY) -> Anonymisation:
    """Recode and suppress until every combination of QUASI_IDENTIFIERS is held by ≥ k contributors.

    `rows`: one row per distinct (contributor_key, country, age_band, education, profession, language)."""
    table = _Table.of(rows)
    outputs = {a: table.categories[a].astype(object).copy() for a in QUASI_IDENTIFIERS}
    budget = max(k, MAX_SUPPRESSED_SHARE * table.contributors)
    steps: list[dict] = []
    small = table.small_rows(outputs, k)
    while small.any():
        in_small = table.contributors_in(small)
        step = None if in_small <= budget else _best_step(table, outputs, small, k)
        step = step or (None if in_small <= budget else _datafly_step(table, outputs, small, k))
        if step is None:
            break
        attribute, lifted, small = step
        outputs[attribute] = _lift_outputs(outputs[attribute], lifted)
        after = table.contributors_in(small)
        steps.append(
            {"generalise": attribute, "values": len(lifted), "small_contributors": [in_small, after]}
        )
    if small.any():
        steps.append(
            {"suppress": {"contributors": table.contributors_in(small), "combinations": int(small.sum())}}
        )
    kept, undone = _undo_needless(table, outputs, ~small, k, budget)
    if undone:
        steps.append({"undo_needless": undone, "suppressed_contributors": table.contributors_in(~kept)})
    recode = {  # a value seen only in suppressed rows is not named in the manifest
        a: {
            v: o
            for i, (v, o) in enumerate(zip(table.categories[a], outputs[a], strict=True))
            if o != v and np.any(kept & (table.codes[a] == i))
        }
        for a in QUASI_IDENTIFIERS
    }
    suppressed = rows.loc[~kept, ["contributor_key", *QUASI_IDENTIFIERS]].reset_index(drop=True)
    return Anonymisation(recode=recode, suppressed=suppressed, steps=steps, contributors=table.contributors)


@dataclass
class _Table:
    """The distinct (contributor, combination) rows as integer codes: per attribute each row's category
    (-1 for NULL) and the categories (original values); each row's contributor number."""

    codes: dict[str, np.ndarray]
    categories: dict[str, np.ndarray]
    contributor: np.ndarray
    contributors: int

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Table:
        codes, categories = {}, {}
        for a in QUASI_IDENTIFIERS:  # sorted: decisions never depend on row order or on the keys
            code, uniques = pd.factorize(rows[a], sort=True, use_na_sentinel=True)
            codes[a], categories[a] = code, np.asarray(uniques, dtype=object)
        contributor = pd.factorize(rows["contributor_key"])[0]
        return cls(codes, categories, contributor, int(contributor.max()) + 1 if len(contributor) else 0)

    def contributors_in(self, mask: np.ndarray) -> int:
        return len(np.unique(self.contributor[mask]))

    def small_rows(self, outputs: dict, k: int, among: np.ndarray | None = None) -> np.ndarray:
        """Rows (of `among`, default all) whose recoded combination is held by fewer than k contributors
        of `among`: exact when `among` holds whole classes."""
        index = np.arange(len(self.contributor)) if among is None else np.flatnonzero(among)
        frame = pd.DataFrame({a: _recoded(self.codes[a][index], outputs[a]) for a in QUASI_IDENTIFIERS})
        frame["_class"] = frame.groupby(list(QUASI_IDENTIFIERS), sort=False).ngroup()
        frame["_contributor"] = self.contributor[index]
        holders = frame[["_class", "_contributor"]].drop_duplicates()["_class"].value_counts()
        small = np.zeros(len(self.contributor), dtype=bool)
        small[index] = frame["_class"].map(holders).to_numpy() < k
        return small


def _recoded(code: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Each row's output value as a code of its own (NULL stays -1), so equal outputs compare equal."""
    if not len(output):
        return np.full(len(code), -1)
    out_code = pd.factorize(output)[0]
    return np.where(code >= 0, out_code[np.maximum(code, 0)], -1)


def _seen_outputs(table: _Table, outputs: dict, attribute: str, small: np.ndarray) -> set:
    return {outputs[attribute][c] for c in np.unique(table.codes[attribute][small]) if c >= 0}


def _best_step(table: _Table, outputs: dict, small: np.ndarray, k: int):
    """(attribute, {output: coarser output}, small rows after) of the generalisation that takes the most
    contributors out of small classes per level climbed, trying each attribute one level up, then two …
    (the first depth that helps); ties go to fewer rows changed, then GENERALISE_FIRST. None: no single
    attribute's generalisation helps."""
    before = table.contributors_in(small)
    best, best_score = None, None
    for order, a in enumerate(GENERALISE_FIRST):
        seen = _seen_outputs(table, outputs, a, small)
        for depth in range(1, HIERARCHY_DEPTH[a] + 1):
            lifted = {v: up for v in seen if (up := _lift(a, v, depth)) is not None}
            if not lifted:
                break
            trial = {**outputs, a: _lift_outputs(outputs[a], lifted)}
            after = table.small_rows(trial, k)
            rescued = before - table.contributors_in(after)
            if rescued > 0:
                changed = int(np.isin(table.codes[a], np.flatnonzero(trial[a] != outputs[a])).sum())
                score = (rescued / depth, -changed, -order)
                if best_score is None or score > best_score:
                    best, best_score = (a, lifted, after), score
                break
    return best


def _datafly_step(table: _Table, outputs: dict, small: np.ndarray, k: int):
    """Datafly's own step, for a plateau where no single attribute helps (everybody unique on several
    attributes at once): one level up for the attribute with the most distinct generalisable values
    among small rows. None: nothing can be generalised any more."""
    counts = {}
    for a in GENERALISE_FIRST:
        seen = _seen_outputs(table, outputs, a, small)
        counts[a] = {v: up for v in seen if (up := _lift(a, v, 1)) is not None}
    attribute = max(GENERALISE_FIRST, key=lambda a: len(counts[a]))  # first of equals wins
    if not counts[attribute]:
        return None
    trial = {**outputs, attribute: _lift_outputs(outputs[attribute], counts[attribute])}
    return attribute, counts[attribute], table.small_rows(trial, k)


def _undo_needless(
    table: _Table, outputs: dict, kept: np.ndarray, k: int, budget: float
) -> tuple[np.ndarray, int]:
    """Take back, one value and one level at a time, every generalisation the kept rows do not need (the
    greedy loop, and Datafly's step most of all, also coarsens values that did not have to move): a move
    is taken back when every class stays ≥ k, or when the rows it leaves in small classes can be
    suppressed with the suppressed contributors staying within `budget` and each one suppressed buying
    the finer value for at least k others. Most valuable attributes and most common values first.
    Returns (rows kept, moves taken back)."""
    undone, changed = 0, True
    while changed:
        changed = False
        for a in reversed(GENERALISE_FIRST):
            holders = pd.Series(table.contributor[kept]).groupby(table.codes[a][kept]).nunique()
            for i in holders.sort_values(ascending=False, kind="stable").index:  # codes follow the values
                if i < 0 or outputs[a][i] == table.categories[a][i]:
                    continue
                coarse = outputs[a][i]
                finer = _one_level_finer(a, table.categories[a][i], coarse)
                sharing = [j for j, o in enumerate(outputs[a]) if o == finer]
                if holders[i] + sum(holders.get(j, 0) for j in sharing) < k:  # could never make a class
                    continue
                trial = outputs[a].copy()
                trial[i] = finer
                # only classes whose value here is `coarse` or `finer` change: count within them
                touched = kept & np.isin(table.codes[a], [*np.flatnonzero(outputs[a] == coarse), *sharing])
                small = table.small_rows({**outputs, a: trial}, k, among=touched)
                if small.any():
                    lost = table.contributors_in(small)
                    gained = table.contributors_in(kept & ~small & (table.codes[a] == i))
                    if table.contributors_in(~kept | small) > budget or gained < k * lost:
                        continue
                outputs[a], kept = trial, kept & ~small
                undone, changed = undone + 1, True
    return kept, undone


def _one_level_finer(attribute: str, original: str, output: str) -> str:
    """The value one level below `output` on `original`'s path up its hierarchy."""
    path = [original]
    while path[-1] != output:
        path.append(generalise(attribute, path[-1]))
    return path[-2]


def _lift(attribute: str, value: str, depth: int) -> str | None:
    """`value` `depth` levels up (as far as it goes); None when it cannot move at all."""
    out = value
    for _ in range(depth):
        up = generalise(attribute, out)
        if up is None:
            break
        out = up
    return None if out == value else out


def _lift_outputs(output: np.ndarray, lifted: dict[str, str]) -> np.ndarray:
    return np.array([lifted.get(v, v) for v in output], dtype=object)


def withhold_small_segments(
    board: pd.DataFrame, voters: pd.DataFrame, k: int = K_ANONYMITY
) -> tuple[pd.DataFrame, dict]:
    """Drop the board rows of segment values held by fewer than k distinct voters.

    `voters`: segment_dim, segment_value, voters (distinct voters of that value before the data cut).
    Returns (the board without those rows, {dimension: {"min_voters", "values", "rows"}} withheld).
    The overall board is never withheld; a segment value missing from `voters` counts as 0 voters."""
    if board.empty or "segment_dim" not in board:
        return board, {}
    held = voters.set_index(["segment_dim", "segment_value"])["voters"]
    keys = pd.MultiIndex.from_frame(board[["segment_dim", "segment_value"]])
    counts = pd.Series(held.reindex(keys).fillna(0).to_numpy(), index=board.index)
    drop = (board["segment_dim"] != "overall") & (counts < k)
    withheld = {
        dim: {
            "min_voters": k,
            "values": int(group.loc[drop[group.index], "segment_value"].nunique()),
            "rows": int(drop[group.index].sum()),
        }
        for dim, group in board[board["segment_dim"] != "overall"].groupby("segment_dim")
    }
    return board[~drop].reset_index(drop=True), withheld


def segment_voters(session: WarehouseSession, cutoff) -> pd.DataFrame:
    """segment_dim, segment_value, voters: distinct voters of each segment value before the data cut."""
    session.run("ratings/create_segmented_votes")  # the one place that says which column a dimension reads
    return session.query("publish/segment_voters", {"cutoff": cutoff}).to_pandas()


def withhold_small_segments_of(
    session: WarehouseSession, board: pd.DataFrame, parameters: dict
) -> pd.DataFrame:
    """The snapshot's board without segment values of fewer than K_ANONYMITY voters; what was withheld is
    recorded in each dimension's `parameters[dim]["withheld_below_k_voters"]` (the manifest's segments)."""
    if board.empty or "raw" not in parameters:
        return board
    kept, withheld = withhold_small_segments(board, segment_voters(session, parameters["raw"]["cutoff_utc"]))
    for dim, account in withheld.items():
        parameters[dim] = {**parameters.get(dim, {}), "withheld_below_k_voters": account}
    return kept
