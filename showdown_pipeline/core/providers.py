"""The provider transparency ledger (issue 16, part 4) and the pre-release rule.

Every snapshot writes `providers.parquet`, one row per provider (the registry's `provider`, cleaned by
core/normalise.py; a model without a registry row or without a provider is under `unknown`, never dropped):

- the ledger **window** is [start, cut): start is the data cut of the previous snapshot (the newest published
  snapshot whose cut is before this one's), or no start when there is none (then every vote before the cut,
  undated ones included);
- `models_active`: models whose active window [released_at, deprecated_at) meets the ledger window (a model
  with no registry row: shown in a window battle), with their dates; `models_deprecated`: deprecated_at in it;
- `battle_share`: of the sides of the window's battles (distinct battle_id, model_left, model_right of the
  valid, deduplicated votes; a battle has two sides), the share held by the provider's models;
- `vote_share`: the same over the counted votes at the cut (the votes the boards are fitted on);
- `licensed_share`: the same over the rows of every licensed export published as of the snapshot's as-of or
  earlier (each export's votes.parquet, verified against its audit sha256; a row delivered twice counts
  twice); **null** when no export was made (nothing was licensed), never 0;
- `models_under_plan`: models of the previous snapshot's sampling plan shown in significantly fewer of the
  window's battles than that plan asked (`under_plan`, below); null when there is no previous plan.

Each share column sums to 1 over the providers (null when its total is 0). Counting sides is what makes the
shares add up: a battle between two models of one provider gives it both sides.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from showdown_pipeline.core import normalise
from showdown_pipeline.core.digest import sha256_of
from showdown_pipeline.core.licensing import VOTES_FILE
from showdown_pipeline.core.snapshots import Snapshot, list_snapshots
from showdown_pipeline.core.warehouse import WarehouseSession

UNKNOWN = "unknown"  # models with no registry row or no provider; a registry provider spelled so joins it
PRE_RELEASE_MIN_VOTES = 1000  # counted votes after the public release before a pre-release model is solid
UNDER_PLAN_ALPHA = 0.05  # family-wise, Bonferroni over the plan's models

_DATED = pa.struct(
    [
        ("model_id", pa.string()),
        ("released_at", pa.timestamp("us", tz="UTC")),
        ("deprecated_at", pa.timestamp("us", tz="UTC")),
    ]
)
_UNDER = pa.struct(
    [
        ("model_id", pa.string()),
        ("battles", pa.int64()),
        ("asked_battles", pa.float64()),
        ("p_value", pa.float64()),
    ]
)
PROVIDERS_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("models_active", pa.list_(_DATED)),
        ("models_deprecated", pa.list_(_DATED)),
        ("battle_sides", pa.int64()),
        ("battle_share", pa.float64()),
        ("vote_sides", pa.int64()),
        ("vote_share", pa.float64()),
        ("licensed_sides", pa.int64()),  # null: no licensed export up to this cut
        ("licensed_share", pa.float64()),
        ("models_under_plan", pa.list_(_UNDER)),  # null: no previous snapshot plan to compare with
        ("looks_like", pa.list_(pa.string())),  # the other providers whose names read the same (look_alikes)
    ]
)


# --- providers whose names a reader cannot tell apart -----------------------------------------------------

# Letters drawn like a Latin letter (Greek, Cyrillic), mapped to that letter, and every letter drawn as one
# vertical stroke (I, l, i, 1, | and their look-alikes) to `l`: `OpenΑI` (Greek Alpha), `OpenAl` (lower-case L)
# and `open-ai` read as `OpenAI`.
_DRAWN_LIKE = str.maketrans(
    {
        **dict(zip("ΑΒΕΖΗΚΜΝΟΡΤΥΧ", "ABEZHKMNOPTYX", strict=True)),  # Greek capitals
        **dict(zip("οκνρυχ", "oknpux", strict=True)),  # Greek small
        **dict(zip("АВЕКМНОРСТХУЅЈԚԜ", "ABEKMHOPCTXYSJQW", strict=True)),  # Cyrillic capitals
        **dict(zip("аеорсухѕјԛԝһԁ", "aeopcyxsjqwhd", strict=True)),  # Cyrillic small
        **dict.fromkeys("IiıɩlǀІіӀΙι1|", "l"),  # one vertical stroke
        "ɡ": "g",
        "0": "o",
    }
)


def name_skeleton(name: str) -> str:
    """How a provider's name reads: look-alike letters as the Latin letter they are drawn like, accents and
    case dropped, `rn` as `m`, only letters and digits kept (`Open AI`, `Open-AI` read as `OpenAI`). A key to
    compare names by, never shown: `OpenAI` reads `openal`."""
    text = unicodedata.normalize("NFKD", name.translate(_DRAWN_LIKE))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().translate(_DRAWN_LIKE)
    return "".join(c for c in text if c.isalnum()).replace("rn", "m")


def look_alikes(names: list[str]) -> dict[str, list[str]]:
    """Provider -> the other providers of `names` whose names read the same (name_skeleton): each is listed
    as the provider it is, but a reader may be looking at one provider's share split over several rows."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name_skeleton(name), []).append(name)
    return {n: [o for o in group if o != n] for group in groups.values() if len(group) > 1 for n in group}


# --- the pre-release rule --------------------------------------------------------------------------------


def pre_release_status(session: WarehouseSession, cutoff: str) -> list[dict]:
    """One dict per pre-release model: model_id, released_at, marked_in_force, votes_since_release,
    provisional. A model any ingested models.csv marked pre_release true is one, whatever the file in force
    says: it was shown before its release, and a later file that drops the column or the flag (or says false)
    does not undo that — else a flipped flag would lift `provisional` before 1,000 votes."""
    marked = sorted(
        {
            r["model_id"]
            for r in session.rows("publish/pre_release_marks")
            if normalise.flag(r["raw"])[0] == "true"
        }
    )
    rows = session.rows("publish/pre_release_votes", {"cutoff": cutoff, "marked_before": marked})
    return [{**r, "provisional": r["votes_since_release"] < PRE_RELEASE_MIN_VOTES} for r in rows]


def mark_pre_release(board: pd.DataFrame, status: list[dict]) -> pd.DataFrame:
    """The board with `pre_release_provisional` set on every row (all boards, all segments) and, where true,
    `provisional` set with the reason appended."""
    board = board.copy()
    short = {s["model_id"]: s for s in status if s["provisional"]}
    flagged = board["model_id"].isin(short)
    board["pre_release_provisional"] = flagged.astype(bool)
    for i in board.index[flagged]:
        s = short[board.at[i, "model_id"]]
        since = (
            "no public release yet" if s["released_at"] is None else f"released {s['released_at']:%Y-%m-%d}"
        )
        if not s.get("marked_in_force", True):
            since += "; marked pre-release by an earlier models.csv"
        why = (
            f"pre-release model: {s['votes_since_release']:,} of {PRE_RELEASE_MIN_VOTES:,} counted votes "
            f"since its public release ({since})"
        )
        earlier = board.at[i, "provisional_reason"]
        board.at[i, "provisional_reason"] = why if not isinstance(earlier, str) else f"{earlier}; {why}"
    board["provisional"] = board["provisional"].astype(bool) | flagged
    return board


# --- the previous snapshot and its plan ------------------------------------------------------------------


def _cutoff(snapshot: Snapshot) -> datetime | None:
    try:
        return datetime.fromisoformat(snapshot.manifest["data_cut"]["cutoff_utc"].replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None


def previous_snapshot(snapshots_root, cutoff: str) -> Snapshot | None:
    """The newest published snapshot whose data cut is before `cutoff` (a later one of the same cut: the
    newest by creation); None when there is none."""
    this = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
    earlier = [
        (c, s.snapshot_id, s) for s in list_snapshots(snapshots_root) if (c := _cutoff(s)) and c < this
    ]
    return max(earlier, key=lambda e: (e[0], e[1]))[2] if earlier else None


def previous_plan(previous: Snapshot | None) -> tuple[pd.DataFrame | None, str]:
    """(the previous snapshot's sampling plan, or None, and why not)."""
    if previous is None:
        return None, "none: no earlier snapshot, so no plan to compare with"
    entry = previous.manifest.get("files", {}).get("sampling_plan.parquet")
    path = previous.path / "sampling_plan.parquet"
    if entry is None or not path.is_file():
        return None, f"none: snapshot {previous.snapshot_id} carries no sampling plan"
    if sha256_of(path) != entry["sha256"]:
        return None, f"none: the sampling plan of {previous.snapshot_id} does not match its manifest sha256"
    return pq.read_table(path).to_pandas(), f"the plan of snapshot {previous.snapshot_id}"


def under_plan(plan: pd.DataFrame, battles: pd.DataFrame) -> list[dict]:
    """Every model of the plan: battles of the window between two planned models that showed it, how many
    the plan asked (n · share of battles the plan gives pairs with it), the one-sided binomial p-value of
    showing it that rarely, and `under` (fewer than asked and p < UNDER_PLAN_ALPHA / models)."""
    asked = (
        pd.concat(
            [
                plan[["model_left", "weight"]].set_axis(["m", "w"], axis=1),
                plan[["model_right", "weight"]].set_axis(["m", "w"], axis=1),
            ]
        )
        .groupby("m")["w"]
        .sum()
    )
    planned = battles[battles["model_left"].isin(asked.index) & battles["model_right"].isin(asked.index)]
    n = int(planned["n"].sum())
    shown = _sides(planned)
    level = UNDER_PLAN_ALPHA / max(len(asked), 1)
    out = []
    for model, share in asked.sort_index().items():
        k = int(shown.get(model, 0))
        p_value = float(stats.binom.cdf(k, n, min(share, 1.0))) if n else 1.0
        out.append(
            {
                "model_id": model,
                "battles": k,
                "asked_battles": n * share,
                "p_value": p_value,
                "under": n > 0 and k < n * share and p_value < level,
            }
        )
    return out


# --- the ledger -------------------------------------------------------------------------------------------


def _sides(pairs: pd.DataFrame) -> pd.Series:
    """Sides per model from per-pair counts (model_left, model_right, n)."""
    if pairs.empty:
        return pd.Series(dtype="int64")
    both = pd.concat(
        [
            pairs[["model_left", "n"]].set_axis(["m", "n"], axis=1),
            pairs[["model_right", "n"]].set_axis(["m", "n"], axis=1),
        ]
    )
    return both.groupby("m")["n"].sum()


def provider_names(registry: list[dict]) -> dict[str, str]:
    """model_id -> the provider it is listed under: providers that differ only by case are one, named by
    their first spelling in models.csv order; no provider (or one spelled `unknown`) is UNKNOWN."""
    first: dict[str, str] = {}
    names = {}
    for r in registry:
        name = r["provider"]
        key = name.casefold() if name else UNKNOWN
        names[r["model_id"]] = UNKNOWN if key == UNKNOWN else first.setdefault(key, name)
    return names


def _dated(rows: list[dict]) -> list[dict]:
    return [{k: r.get(k) for k in ("model_id", "released_at", "deprecated_at")} for r in rows]


def _in_window(r: dict, start: datetime | None, end: datetime) -> tuple[bool, bool]:
    """(active at some instant of [start, end), deprecated within it) for one registry row."""
    released, deprecated = r.get("released_at"), r.get("deprecated_at")
    active = (released is None or released < end) and (
        deprecated is None or start is None or deprecated > start
    )
    gone = deprecated is not None and deprecated < end and (start is None or deprecated >= start)
    return active, gone


def ledger(
    registry: list[dict],
    counts: dict[str, pd.DataFrame | None],
    under: list[dict] | None,
    start: datetime | None,
    end: datetime,
) -> pa.Table:
    """providers.parquet: `counts` holds per-pair counts (model_left, model_right, n) of "battle" (the
    window's battles), "vote" (counted votes at the cut) and "licensed" (None: no export)."""
    names = provider_names(registry)
    sides = {kind: None if pairs is None else _sides(pairs) for kind, pairs in counts.items()}
    unregistered = sorted({m for s in sides.values() if s is not None for m in s.index} - set(names))
    names.update(dict.fromkeys(unregistered, UNKNOWN))
    order = list(dict.fromkeys([*(n for n in names.values() if n != UNKNOWN), UNKNOWN]))
    active = {p: [] for p in order}
    deprecated = {p: [] for p in order}
    for r in registry:
        is_active, gone = _in_window(r, start, end)
        if is_active:
            active[names[r["model_id"]]].append(r)
        if gone:
            deprecated[names[r["model_id"]]].append(r)
    in_window = set(sides["battle"].index) if sides["battle"] is not None else set()
    active[UNKNOWN] += [{"model_id": m} for m in unregistered if m in in_window]
    columns = {"provider": order}
    columns["models_active"] = [_dated(active[p]) for p in order]
    columns["models_deprecated"] = [_dated(deprecated[p]) for p in order]
    for kind in ("battle", "vote", "licensed"):
        per = None if sides[kind] is None else sides[kind].groupby(sides[kind].index.map(names)).sum()
        total = None if per is None else int(per.sum())
        columns[f"{kind}_sides"] = [None if per is None else int(per.get(p, 0)) for p in order]
        columns[f"{kind}_share"] = [int(per.get(p, 0)) / total if total else None for p in order]
    short = None if under is None else [u for u in under if u["under"]]
    columns["models_under_plan"] = [
        None
        if short is None
        else [{k: u[k] for k in _UNDER.names} for u in short if names.get(u["model_id"], UNKNOWN) == p]
        for p in order
    ]
    keep = [i for i, p in enumerate(order) if p != UNKNOWN or _has_any(columns, i)]
    alike = look_alikes([order[i] for i in keep])
    columns["looks_like"] = [alike.get(p, []) for p in order]
    return pa.Table.from_pydict(
        {k: [v[i] for i in keep] for k, v in columns.items()}, schema=PROVIDERS_SCHEMA
    )


def _has_any(columns: dict, i: int) -> bool:
    """The `unknown` row is kept when a model is listed under it or it holds a side of anything."""
    return bool(
        columns["models_active"][i]
        or columns["models_deprecated"][i]
        or any(columns[f"{k}_sides"][i] for k in ("battle", "vote", "licensed"))
    )


def licensed_pairs(session: WarehouseSession, as_of: str) -> tuple[pd.DataFrame | None, list[dict]]:
    """Per-pair rows of every licensed export as of `as_of` or earlier whose votes.parquet matches its audit
    sha256 (None when there is none), and every such export with whether it was counted."""
    if "export_audit" not in session.table_names():
        return None, []
    tables, listed = [], []
    for e in session.rows("publish/export_audit_rows", {"as_of": as_of}):
        path = Path(e["path"]) / VOTES_FILE
        counted = path.is_file() and sha256_of(path) == e["sha256"]
        listed.append(
            {
                "licensee": e["licensee"],
                "as_of": e["as_of"].isoformat(),
                "rows": e["rows"],
                "counted": counted,
            }
            | ({} if counted else {"problem": f"{path} is missing or does not match its audit sha256"})
        )
        if counted:
            tables.append(pq.read_table(path, columns=["model_left", "model_right"]))
    if not tables:
        return None, listed
    with session.registered("licensed_rows", pa.concat_tables(tables)):
        return session.query("publish/licensed_pair_rows").to_pandas(), listed


def build_ledger(
    session: WarehouseSession, snapshots_root: Path, cutoff: str, as_of: str
) -> tuple[pa.Table, dict]:
    """providers.parquet and the manifest's `providers` section for the cut `cutoff` (ISO, UTC)."""
    previous = previous_snapshot(snapshots_root, cutoff)
    start = _cutoff(previous) if previous is not None else None
    end = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
    plan, plan_note = previous_plan(previous)
    registry = session.rows("publish/provider_registry")
    window = {"cutoff": cutoff, "window_start": None if start is None else start.isoformat()}
    battles = session.query("publish/window_pair_battles", window).to_pandas()
    votes = session.query("publish/counted_pair_votes", {"cutoff": cutoff}).to_pandas()
    licensed, exports = licensed_pairs(session, as_of)
    checked = None if plan is None else under_plan(plan, battles)
    table = ledger(registry, {"battle": battles, "vote": votes, "licensed": licensed}, checked, start, end)
    section = {
        "window": {
            "start_utc": None if start is None else start.isoformat(),
            "end_utc": end.isoformat(),
            "previous_snapshot": None if previous is None else previous.snapshot_id,
        },
        "battles": int(battles["n"].sum()),
        "counted_votes": int(votes["n"].sum()),
        "licensed_rows": None if licensed is None else int(licensed["n"].sum()),
        "exports": exports,
        "plan_comparison": {
            "plan": plan_note,
            "rule": f"one-sided binomial, fewer battles than asked and p < {UNDER_PLAN_ALPHA} / models in the plan",
            "models": checked,
        },
        "unknown_provider": "models with no registry row or no provider",
        "look_alike_providers": sorted(
            {tuple(sorted([p, *others])) for p, others in look_alikes(table["provider"].to_pylist()).items()}
        ),
    }
    return table, section
