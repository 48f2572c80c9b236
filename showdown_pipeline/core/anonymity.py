"""Who can be recognised in what we hand out (DESIGN §5): k-anonymity of licensed exports and the
smallest segment the public snapshot publishes. Plain Python/pandas on small, aggregated tables.

Licensed exports. The quasi-identifiers an export carries are a contributor's `country, age_band,
education, profession` and each vote's `language`. Rows of one contributor share a pseudonym, so a
licensee sees each contributor's PROFILE: their four demographic values and the SET of languages of
their rows (one person voting in English and Portuguese is a profile of its own, even when every
(demographics, language) row combination is common). Every profile in an export is held by at least
K_ANONYMITY distinct contributors; then so is every row's combination (a row's class is a union of
profile classes). The algorithm (`anonymise`) works on the distinct (contributor, combination) table
that SQL computes, one contributor per row inside, and returns value-level global recodings (one value
always becomes the same output, in every row and for every contributor: a language in a set is recoded
like the same language anywhere) plus the contributors to suppress (all their votes); SQL applies both
to the votes. It is a greedy loop in the spirit of Datafly (Sweeney 1998), with a one-step lookahead:

  1. classes = contributors per recoded profile; contributors in classes smaller than k are "small";
  2. if none: done. If few contributors are small (at most k, or MAX_SUPPRESSED_SHARE of the export's
     contributors if that is more): suppress them (all their votes leave the export), stop;
  3. otherwise try, for each attribute, moving every one of its values seen among small contributors one
     level up its hierarchy (or two, three … : the first depth that helps); keep the try that takes the
     most contributors out of small classes per level climbed (ties: fewer contributors changed,
     GENERALISE_FIRST) and go to 1. On a plateau where no single attribute helps (everybody unique on
     several attributes at once), take Datafly's own step: one level up for the attribute with the most
     distinct values among small contributors. When nothing can be generalised any more, suppress the
     small contributors and stop;
  4. take back, one value and one level at a time, every generalisation the kept contributors do not
     need, or whose contributors left in small classes can be suppressed within the same budget as step
     2 (each person suppressed buying the finer value for at least k others).

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
    holds one row per contributor whose votes all leave the export (contributor_key, the demographic
    attributes, `languages`: their sorted languages as delivered)."""

    recode: dict[str, dict[str, str]]
    suppressed: pd.DataFrame
    steps: list[dict] = field(default_factory=list)
    contributors: int = 0

    def report(self) -> dict:
        """The manifest's account: per attribute which values became what, and what was suppressed."""
        return {
            "k": K_ANONYMITY,
            "quasi_identifiers": list(QUASI_IDENTIFIERS),
            "held_by_k": PROFILE_RULE,
            "generalised": {a: dict(sorted(m.items())) for a, m in self.recode.items() if m},
            "steps": self.steps,
            "contributors_with_suppressed_votes": len(self.suppressed),
        }


PROFILE_RULE = (
    "every contributor's profile (country, age_band, education, profession and the set of languages of "
    "their rows) and every row's combination of the five is held by at least k contributors"
)


def anonymise(rows: pd.DataFrame, k: int = K_ANONYMITY) -> Anonymisation:
    """Recode and suppress until every contributor's profile — their CONTRIBUTOR_ATTRIBUTES and the set of
    languages they vote in — is held by ≥ k contributors (so is then every row's combination).

    `rows`: one row per distinct (contributor_key, country, age_band, education, profession, language);
    a contributor's demographic attributes are the same in all their rows."""
    table = _Table.of(rows)
    outputs = {a: table.categories[a].astype(object).copy() for a in QUASI_IDENTIFIERS}
    budget = max(k, MAX_SUPPRESSED_SHARE * table.contributors)
    steps: list[dict] = []
    small = table.small(outputs, k)
    while small.any():
        in_small = int(small.sum())
        step = None if in_small <= budget else _best_step(table, outputs, small, k)
        step = step or (None if in_small <= budget else _datafly_step(table, outputs, small, k))
        if step is None:
            break
        attribute, lifted, small = step
        outputs[attribute] = _lift_outputs(outputs[attribute], lifted)
        steps.append(
            {
                "generalise": attribute,
                "values": len(lifted),
                "small_contributors": [in_small, int(small.sum())],
            }
        )
    if small.any():
        steps.append({"suppress": {"contributors": int(small.sum())}})
    kept, undone = _undo_needless(table, outputs, ~small, k, budget)
    if undone:
        steps.append({"undo_needless": undone, "suppressed_contributors": int((~kept).sum())})
    recode = {  # a value seen only in suppressed contributors' rows is not named in the manifest
        a: {
            v: o
            for i, (v, o) in enumerate(zip(table.categories[a], outputs[a], strict=True))
            if o != v and table.having(a, [i])[kept].any()
        }
        for a in QUASI_IDENTIFIERS
    }
    return Anonymisation(
        recode=recode, suppressed=table.profiles(~kept), steps=steps, contributors=table.contributors
    )


# Two independent random 64-bit values per language code: a contributor's set of (recoded) languages is
# fingerprinted by XOR-ing them, 128 bits, so equal sets have equal fingerprints and two different sets
# collide with probability ~2^-128 per pair (and the export's independent re-check recounts exact classes).
_SET_HASH = np.random.default_rng(20261202).integers(0, 2**63, size=(2, 1 << 16), dtype=np.int64)


@dataclass
class _Table:
    """One row per contributor: each demographic attribute's code (-1 for NULL), and their languages as
    (contributor, language code) pairs; the categories (original values) of every attribute."""

    codes: dict[str, np.ndarray]
    categories: dict[str, np.ndarray]
    owner: np.ndarray  # contributor of each language pair
    language: np.ndarray  # language code of each pair (-1: NULL)
    keys: np.ndarray
    contributors: int

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Table:
        rows = rows.reset_index(drop=True)
        contributor, keys = pd.factorize(rows["contributor_key"])
        categories, row_codes = {}, {}
        for a in QUASI_IDENTIFIERS:  # sorted: decisions never depend on row order or on the keys
            row_codes[a], uniques = pd.factorize(rows[a], sort=True, use_na_sentinel=True)
            categories[a] = np.asarray(uniques, dtype=object)
        first = np.unique(contributor, return_index=True)[1]
        codes = {a: row_codes[a][first] for a in CONTRIBUTOR_ATTRIBUTES}
        varies = [a for a in CONTRIBUTOR_ATTRIBUTES if (row_codes[a] != codes[a][contributor]).any()]
        if varies:
            raise ValueError(f"a contributor has more than one value of {', '.join(varies)}")
        pairs = np.unique(np.stack([contributor, row_codes["language"]]), axis=1)
        if len(categories["language"]) >= _SET_HASH.shape[1] - 1:
            raise ValueError(f"{len(categories['language'])} languages: more than the set fingerprint holds")
        return cls(codes, categories, pairs[0], pairs[1], np.asarray(keys, dtype=object), len(keys))

    def having(self, attribute: str, codes: list[int]) -> np.ndarray:
        """Contributors holding any of `codes` of `attribute` (for language: in any of their rows)."""
        if attribute != "language":
            return np.isin(self.codes[attribute], codes)
        mask = np.zeros(self.contributors, dtype=bool)
        mask[self.owner[np.isin(self.language, codes)]] = True
        return mask

    def holders(self, attribute: str, among: np.ndarray) -> pd.Series:
        """Contributors (of `among`) per code of `attribute`."""
        if attribute != "language":
            return pd.Series(self.codes[attribute][among]).value_counts()
        return pd.Series(self.language[among[self.owner]]).value_counts()

    def small(self, outputs: dict, k: int, among: np.ndarray | None = None) -> np.ndarray:
        """Contributors (of `among`, default all) whose recoded profile is held by fewer than k
        contributors of `among`: exact when `among` holds whole classes."""
        among = np.ones(self.contributors, dtype=bool) if among is None else among
        columns = {a: _recoded(self.codes[a], outputs[a]) + 1 for a in CONTRIBUTOR_ATTRIBUTES}
        bits = [int(c.max()).bit_length() if len(c) else 1 for c in columns.values()]
        if sum(bits) <= 62:  # the four codes packed into one key (fewer columns to group: 3x faster)
            packed = np.zeros(self.contributors, dtype=np.int64)
            for b, c in zip(bits, columns.values(), strict=True):
                packed = (packed << b) | c
            columns = {"demographics": packed}
        columns["l1"], columns["l2"] = self._language_sets(outputs["language"])
        frame = pd.DataFrame(columns)[among]
        group = frame.groupby(list(columns), sort=False).ngroup().to_numpy()
        small = np.zeros(self.contributors, dtype=bool)
        small[np.flatnonzero(among)] = np.bincount(group, minlength=1)[group] < k
        return small

    def _language_sets(self, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each contributor's set of recoded languages as a 128-bit fingerprint (two int64s)."""
        if not self.contributors:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        out = _recoded(self.language, output) + 1  # NULL is a member of its own (0)
        width = int(out.max()) + 1
        pairs = np.unique(self.owner.astype(np.int64) * width + out)  # distinct, by contributor
        owner, member = pairs // width, pairs % width
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])  # every contributor has a row
        return tuple(np.bitwise_xor.reduceat(table[member], starts) for table in _SET_HASH)

    def profiles(self, mask: np.ndarray) -> pd.DataFrame:
        """contributor_key, demographic values and sorted languages of the contributors in `mask`."""
        index = np.flatnonzero(mask)
        out = pd.DataFrame({"contributor_key": self.keys[index]})
        for a in CONTRIBUTOR_ATTRIBUTES:
            out[a] = [self.categories[a][c] if c >= 0 else None for c in self.codes[a][index]]
        languages = {i: [] for i in index}
        for o, c in zip(self.owner, self.language, strict=True):
            if o in languages:
                languages[o].append(self.categories["language"][c] if c >= 0 else None)
        out["languages"] = [sorted(languages[i], key=lambda v: (v is None, v or "")) for i in index]
        return out


def _recoded(code: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Each row's output value as a code of its own (NULL stays -1), so equal outputs compare equal."""
    if not len(output):
        return np.full(len(code), -1)
    out_code = pd.factorize(output)[0]
    return np.where(code >= 0, out_code[np.maximum(code, 0)], -1)


def _seen_outputs(table: _Table, outputs: dict, attribute: str, small: np.ndarray, k: int) -> set:
    """The (current output) values of `attribute` that small contributors hold. For languages, only the
    values that can be what singles a small contributor out: the rarest language of a contributor who
    votes in several, and the language of one who votes in one only if fewer than k contributors hold
    it at all. A person voting only in English is small because of their demographics, and lifting every
    language a small contributor holds took English (in nearly every set) to `other` with the rare ones."""
    if attribute != "language":
        return {outputs[attribute][c] for c in np.unique(table.codes[attribute][small]) if c >= 0}
    out = _recoded(table.language, outputs["language"])
    holders = np.bincount(out + 1)  # pairs are distinct: contributors per output (NULL at 0)
    sizes = np.bincount(table.owner, minlength=table.contributors)
    pick = small[table.owner] & (out >= 0)
    order = np.lexsort((holders[out[pick] + 1], table.owner[pick]))  # by contributor, rarest first
    owners, first = np.unique(table.owner[pick][order], return_index=True)
    codes, rarity = table.language[pick][order][first], holders[out[pick][order][first] + 1]
    keep = (sizes[owners] > 1) | (rarity < k)
    return {outputs["language"][c] for c in np.unique(codes[keep])}


def _best_step(table: _Table, outputs: dict, small: np.ndarray, k: int):
    """(attribute, {output: coarser output}, small contributors after) of the generalisation that takes
    the most contributors out of small classes per level climbed, trying each attribute one level up,
    then two … (the first depth that helps); ties go to fewer contributors changed, then GENERALISE_FIRST.
    None: no single attribute's generalisation helps."""
    before = int(small.sum())
    best, best_score = None, None
    for order, a in enumerate(GENERALISE_FIRST):
        seen = _seen_outputs(table, outputs, a, small, k)
        for depth in range(1, HIERARCHY_DEPTH[a] + 1):
            lifted = {v: up for v in seen if (up := _lift(a, v, depth)) is not None}
            if not lifted:
                break
            trial = {**outputs, a: _lift_outputs(outputs[a], lifted)}
            after = table.small(trial, k)
            rescued = before - int(after.sum())
            if rescued > 0:
                changed = int(table.having(a, list(np.flatnonzero(trial[a] != outputs[a]))).sum())
                score = (rescued / depth, -changed, -order)
                if best_score is None or score > best_score:
                    best, best_score = (a, lifted, after), score
                break
    return best


def _datafly_step(table: _Table, outputs: dict, small: np.ndarray, k: int):
    """Datafly's own step, for a plateau where no single attribute helps (everybody unique on several
    attributes at once): one level up for the attribute with the most distinct generalisable values
    among small contributors. None: nothing can be generalised any more."""
    counts = {}
    for a in GENERALISE_FIRST:
        seen = _seen_outputs(table, outputs, a, small, k)
        counts[a] = {v: up for v in seen if (up := _lift(a, v, 1)) is not None}
    attribute = max(GENERALISE_FIRST, key=lambda a: len(counts[a]))  # first of equals wins
    if not counts[attribute]:
        return None
    trial = {**outputs, attribute: _lift_outputs(outputs[attribute], counts[attribute])}
    return attribute, counts[attribute], table.small(trial, k)


def _undo_needless(
    table: _Table, outputs: dict, kept: np.ndarray, k: int, budget: float
) -> tuple[np.ndarray, int]:
    """Take back, one value and one level at a time, every generalisation the kept contributors do not
    need (the greedy loop, and Datafly's step most of all, also coarsens values that did not have to
    move): a move is taken back when every class stays ≥ k, or when the contributors it leaves in small
    classes can be suppressed with the suppressed contributors staying within `budget` and each one
    suppressed buying the finer value for at least k others. Most valuable attributes and most common
    values first. Returns (contributors kept, moves taken back)."""
    undone, changed = 0, True
    while changed:
        changed = False
        for a in reversed(GENERALISE_FIRST):
            holders = table.holders(a, kept)
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
                # only the classes of contributors holding `coarse` or `finer` change: count within them
                touched = kept & table.having(a, [*np.flatnonzero(outputs[a] == coarse), *sharing])
                small = table.small({**outputs, a: trial}, k, among=touched)
                if small.any():
                    lost = int(small.sum())
                    gained = int((kept & ~small & table.having(a, [i])).sum())
                    if int((~kept | small).sum()) > budget or gained < k * lost:
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
    withhold_notes_of_segments(parameters, _segment_keys(board) - _segment_keys(kept))
    return kept


def _segment_keys(board: pd.DataFrame) -> set[tuple[str, str]]:
    if board.empty or "segment_dim" not in board:
        return set()
    return set(board[["segment_dim", "segment_value"]].itertuples(index=False, name=None))


def withhold_notes_of_segments(parameters: dict, withheld: set[tuple[str, str]]) -> None:
    """Drop from every board's `notes` (in place) the notes about a withheld segment value (`dim = value: …`,
    as the segment fits write them), nested boards included: a note naming a value the snapshot withholds
    would publish it. Each board's parameters count what was dropped (`notes_withheld`)."""
    prefixes = tuple(f"{dim} = {value}: " for dim, value in withheld)
    if prefixes:
        _withhold_notes(parameters, prefixes)


def _withhold_notes(parameters: dict, prefixes: tuple[str, ...]) -> None:
    """Every `notes` list in `parameters` and the dicts nested in it (a dimension's style boards)."""
    for board in parameters.values():
        if not isinstance(board, dict):
            continue
        _withhold_notes(board, prefixes)
        if not isinstance(board.get("notes"), list):
            continue
        kept = [n for n in board["notes"] if not (isinstance(n, str) and n.startswith(prefixes))]
        if len(kept) < len(board["notes"]):
            board["notes_withheld"] = board.get("notes_withheld", 0) + len(board["notes"]) - len(kept)
            board["notes"] = kept
