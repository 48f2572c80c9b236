"""What two colluding licensees learn by aligning their copies, at full precision and at the export's.

    python bench/bench_licensing.py [--votes 300000] [--root /tmp/bench-licensing]

Builds a demo world (outside the repository, under --root; reused when it is already there), runs the
pipeline as of 2026-11-01, and publishes real exports: licensees A and B as of 2026-11-01, and B again
as of 2026-11-15. Then, as the licensees would:

* rows aligned one to one: rows unique in each copy on every non-key column (all but vote_key,
  contributor_key, prompt_key), matched on those columns; contributors mapped: contributor keys of one
  copy paired with the other's through aligned rows. Measured on the exported files (the chosen
  precision) and on the same rows with the warehouse's full-precision values put back (what the export
  carried before), plus intermediate precisions, to show what each coarsening buys;
* what the mapping reveals: for two copies of one as-of, the profiles are the same (nothing new). For
  copies of different as-of dates (aligned on the vote's own columns, since the recoding may differ),
  each mapped person's profile is the finer of the two, and their history the union of both; counted:
  contributors whose combined (profile, language) row combination, or whose combined profile with its
  set of languages, is held by fewer than k contributors. Licensee B's two exports are one licensee's
  successive exports: their keys differ (per export), so B aligns them by content like two colluders;
* k-anonymity as written: contributors of each copy whose profile (demographics and set of languages)
  fewer than k share, and what was generalised and suppressed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from showdown_pipeline import cli  # noqa: E402
from showdown_pipeline.core import anonymity, demo_world, holdout, licensing  # noqa: E402
from showdown_pipeline.core.sql import load_sql  # noqa: E402
from showdown_pipeline_tests.conftest import materialize_pipeline  # noqa: E402

AS_OF, LATER = "2026-11-01", "2026-11-15"
KEYS = ("vote_key", "contributor_key", "prompt_key")
QI = list(anonymity.QUASI_IDENTIFIERS)
VOTE_COLUMNS = ["distribution", "model_left", "model_right", "winner", "in_flow_side", "category"]
COUNTS = ["tokens", "headers", "lists", "bold"]
# (label, time expression, counts: exact | rounded | none) over a table with full-precision `voted_at`
PRECISIONS = [
    ("full: microseconds, exact counts (before)", "voted_at", "exact"),
    ("UTC hour, exact counts", "date_trunc('hour', voted_at)", "exact"),
    ("UTC date, exact counts", "CAST(voted_at AS DATE)", "exact"),
    ("UTC hour, rounded counts", "date_trunc('hour', voted_at)", "rounded"),
    ("UTC date, rounded counts (the export)", "CAST(voted_at AS DATE)", "rounded"),
    ("UTC date, no style columns", "CAST(voted_at AS DATE)", "none"),
    ("no time, no style columns", "NULL", "none"),
]


def build(root: Path, votes: int) -> tuple[Path, Path]:
    landing, home = root / "landing", root / "home"
    if not (home / "warehouse.duckdb").is_file():
        start = time.perf_counter()
        demo_world.generate(landing, demo_world.WorldConfig(votes=votes, seed=7, end=date(2026, 11, 1)))
        result = materialize_pipeline(landing, home, as_of=AS_OF, bootstrap_rounds=0)
        assert result.success, "pipeline failed"
        print(f"world of {votes:,} votes built in {time.perf_counter() - start:.0f} s")
    return landing, home


def export(landing: Path, home: Path, licensee: str, as_of: str) -> Path:
    folder = licensing.export_dir(home, licensee, date.fromisoformat(as_of))
    if not folder.is_dir():
        start = time.perf_counter()
        cli.export_licensed(home, licensee, as_of, landing)
        print(f"export {licensee} as of {as_of}: {time.perf_counter() - start:.1f} s")
    return folder / "votes.parquet"


def full_precision(conn: duckdb.DuckDBPyConnection, name: str, path: Path, licensee: str, as_of: str) -> None:
    """Table `name`: the export's rows with the warehouse's full-precision time and counts beside them."""
    key = holdout.licensee_key(os.environ[holdout.SECRET_ENV].encode(), licensee, date.fromisoformat(as_of))
    inner, outer = holdout.hmac_pads(key)
    counts = ", ".join(
        f"v.{c}_{s} AS raw_{c}_{s}" for c in [*COUNTS, "latency_ms"] for s in ("left", "right")
    )
    conn.execute(
        f"CREATE OR REPLACE TABLE {name} AS "  # noqa: S608 - names from this script
        "WITH keyed AS (SELECT lower(sha256($outer || unhex(sha256($inner || encode('vote:' || vote_id))))) AS vote_key, "
        "* FROM wh.votes_counted) "
        f"SELECT e.*, v.voted_at, {counts} FROM read_parquet($path) AS e JOIN keyed AS v USING (vote_key)",
        {"inner": inner, "outer": outer, "path": str(path)},
    )


def fingerprint(time_expr: str, counts: str, columns: list[str]) -> str:
    """SQL for one row's non-key columns at a precision, as one comparable value."""
    parts = [time_expr, *columns]
    for c in [*COUNTS, "latency_ms"]:
        for side in ("left", "right"):
            raw = f"raw_{c}_{side}"
            if counts == "exact":
                parts.append(raw)
            elif counts == "rounded":
                parts.append(
                    f"(round({raw} / 100) * 100)" if c == "latency_ms" else f"two_significant_digits({raw})"
                )
    return "md5(CAST(row(" + ", ".join(parts) + ") AS VARCHAR))"


def align(conn, a: str, b: str, fp: str) -> dict:
    """Rows unique on the fingerprint in both copies, matched; contributor keys paired through them."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE pairs AS WITH "  # noqa: S608 - names from this script
        f"fa AS (SELECT {fp} AS fp, contributor_key, vote_key FROM {a}), "
        f"fb AS (SELECT {fp} AS fp, contributor_key, vote_key FROM {b}), "
        "ua AS (SELECT fp, any_value(contributor_key) AS ca, any_value(vote_key) AS va FROM fa GROUP BY fp HAVING count(*) = 1), "
        "ub AS (SELECT fp, any_value(contributor_key) AS cb, any_value(vote_key) AS vb FROM fb GROUP BY fp HAVING count(*) = 1) "
        "SELECT ca, cb, va, vb FROM ua JOIN ub USING (fp)"
    )
    totals = f"SELECT count(*), count(DISTINCT contributor_key) FROM {a}"  # noqa: S608 - names from this script
    rows, contributors = conn.execute(totals).fetchall()[0]
    unique = conn.execute(
        f"SELECT count(*) FROM (SELECT {fp} AS fp FROM {a} GROUP BY fp HAVING count(*) = 1)"  # noqa: S608
    ).fetchall()[0][0]
    aligned, mapped, clashes = conn.execute(
        "SELECT count(*), count(DISTINCT ca), "
        "(SELECT count(*) FROM (SELECT ca FROM pairs GROUP BY ca HAVING count(DISTINCT cb) > 1)) FROM pairs"
    ).fetchall()[0]
    return {
        "rows": rows,
        "unique": unique,
        "aligned": aligned,
        "contributors": contributors,
        "mapped": mapped,
        "ambiguous": clashes,
    }


def linkage(conn, a: str, time_expr: str, counts: str) -> dict:
    """Rows of a copy that match exactly one counted vote of the whole warehouse on the vote's own columns:
    what anyone holding a raw copy of the votes (with user ids) could link back."""
    fp = fingerprint(time_expr, counts, VOTE_COLUMNS)
    raw = ", ".join(f"{c}_{s} AS raw_{c}_{s}" for c in [*COUNTS, "latency_ms"] for s in ("left", "right"))
    linked = conn.execute(
        f"WITH w AS (SELECT {', '.join(VOTE_COLUMNS)}, voted_at, {raw} FROM wh.votes_counted), "  # noqa: S608
        f"u AS (SELECT {fp} AS fp FROM w GROUP BY fp HAVING count(*) = 1) "
        f"SELECT count(*) FROM {a} WHERE {fp} IN (SELECT fp FROM u)"
    ).fetchall()[0][0]
    rows = conn.execute(f"SELECT count(*) FROM {a}").fetchall()[0][0]  # noqa: S608 - names from this script
    return {"linked": linked, "rows": rows}


def finer(attribute: str, x, y):
    """The finer of two generalisations of one value (the attacker knows the public hierarchies)."""
    if x == y or pd.isna(y):
        return x
    if pd.isna(x):
        return y
    up = x
    while up is not None:
        if up == y:
            return x  # y is an ancestor of x: x is finer
        up = anonymity.generalise(attribute, up)
    return y


def composition(conn, a: str, b: str) -> dict:
    """After aligning two copies of different as-of dates: contributors whose combined profile and history
    leave them in a (profile, language) class of fewer than k contributors of the union."""
    pairs = conn.sql("SELECT * FROM pairs").to_arrow_table().to_pandas()
    mapping = pairs.groupby("ca")["cb"].first()
    ra = conn.sql(f"SELECT vote_key, contributor_key, {', '.join(QI)} FROM {a}").to_arrow_table().to_pandas()  # noqa: S608
    rb = conn.sql(f"SELECT vote_key, contributor_key, {', '.join(QI)} FROM {b}").to_arrow_table().to_pandas()  # noqa: S608
    profile_b = rb.groupby("contributor_key")[QI[:4]].first()
    ra["person"] = ra["contributor_key"]
    rb["person"] = rb["contributor_key"].map({v: k for k, v in mapping.items()}).fillna(rb["contributor_key"])
    combined = ra.groupby("person")[QI[:4]].first()
    for person, cb in mapping.items():
        for attribute in QI[:4]:
            combined.loc[person, attribute] = finer(
                attribute, combined.loc[person, attribute], profile_b.loc[cb, attribute]
            )
    union = pd.concat([ra, rb[~rb["vote_key"].isin(set(pairs["vb"]))]], ignore_index=True)
    union = union.drop(columns=QI[:4]).join(combined, on="person")
    missing = union[QI[0]].isna() & union["person"].isin(profile_b.index)
    union.loc[missing, QI[:4]] = profile_b.reindex(union.loc[missing, "person"]).to_numpy()
    held = union.fillna("<NULL>").groupby(QI)["person"].transform("nunique")
    profiles = profile_classes(union, "person")
    exposed = pd.concat(
        [
            union.loc[held < holdout.K_ANONYMITY, "person"],
            profiles.index[profiles < holdout.K_ANONYMITY].to_series(),
        ]
    )
    history = union.groupby("person").size()
    alone = ra.groupby("person").size()
    gain = (history.reindex(mapping.index) / alone.reindex(mapping.index)).median()
    return {
        "people": int(union["person"].nunique()),
        "below_k": int(exposed.nunique()),
        "below_k_mapped": int(exposed[exposed.isin(mapping.index)].nunique()),
        "history_gain_median": float(gain),
    }


def profile_classes(rows: pd.DataFrame, who: str = "contributor_key") -> pd.Series:
    """For each contributor, how many contributors share their profile: the four demographic values and
    the set of languages of their rows (what one pseudonym shows a licensee)."""
    filled = rows.fillna("<NULL>")
    profile = filled.groupby(who).agg(
        **{a: (a, "first") for a in QI[:4]}, languages=("language", lambda s: "|".join(sorted(set(s))))
    )
    return profile.groupby(list(profile.columns))[QI[0]].transform("size")


def singled_out(conn, table: str) -> dict:
    """Contributors of a copy whose profile (demographics and set of languages) fewer than k share."""
    rows = conn.sql(f"SELECT contributor_key, {', '.join(QI)} FROM {table}").to_arrow_table().to_pandas()  # noqa: S608
    held = profile_classes(rows)
    return {"contributors": len(held), "below_k": int((held < holdout.K_ANONYMITY).sum())}


def report(label: str, r: dict) -> None:
    print(
        f"| {label} | {r['aligned']:,} of {r['rows']:,} ({r['aligned'] / max(r['rows'], 1):.1%}) "
        f"| {r['mapped']:,} of {r['contributors']:,} ({r['mapped'] / max(r['contributors'], 1):.1%}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=300_000)
    parser.add_argument("--root", default="/tmp/bench-licensing")
    args = parser.parse_args()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    secret_file = root / "secret.txt"  # the exports of a reused world were keyed with it
    if not secret_file.is_file():
        secret_file.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    os.environ[holdout.SECRET_ENV] = secret_file.read_text(encoding="utf-8")
    landing, home = build(root, args.votes)
    paths = {
        "a": export(landing, home, "licensee-a", AS_OF),
        "b": export(landing, home, "licensee-b", AS_OF),
        "b_later": export(landing, home, "licensee-b", LATER),
    }
    with duckdb.connect() as conn:
        conn.execute("ATTACH $path AS wh (READ_ONLY)", {"path": str(home / "warehouse.duckdb")})
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(load_sql("licensing/create_export_rounding"))
        full_precision(conn, "copy_a", paths["a"], "licensee-a", AS_OF)
        full_precision(conn, "copy_b", paths["b"], "licensee-b", AS_OF)
        full_precision(conn, "copy_b_later", paths["b_later"], "licensee-b", LATER)
        for name, path in paths.items():
            k_account = json.loads((path.parent / "manifest.json").read_text())["k_anonymity"]
            languages = k_account["generalised"].get("language", {})
            print(
                f"{name}: k-anonymity {k_account['steps'][-1]}, {len(languages)} languages to other, "
                f"{k_account['contributors_with_suppressed_votes']} contributors suppressed "
                f"({k_account['suppressed_votes']} votes)"
            )
        for name in ("copy_a", "copy_b", "copy_b_later"):
            r = singled_out(conn, name)
            print(f"{name}: {r['below_k']} of {r['contributors']:,} contributors in a profile held by < k")
        shared = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT contributor_key FROM copy_b "
            "INTERSECT SELECT DISTINCT contributor_key FROM copy_b_later)"
        ).fetchall()[0][0]
        print(f"licensee B's two exports share {shared} contributor keys")
        print("\nTwo licensees, same as-of: rows aligned one to one | contributors mapped")
        print("| precision | rows aligned | contributors mapped |\n|---|---|---|")
        for label, time_expr, counts in PRECISIONS:
            report(
                label, align(conn, "copy_a", "copy_b", fingerprint(time_expr, counts, [*VOTE_COLUMNS, *QI]))
            )
        exported = [d[0] for d in conn.execute("SELECT * FROM copy_a LIMIT 0").description]
        as_written = [c for c in exported if c not in KEYS and not c.startswith("raw_") and c != "voted_at"]
        written = "md5(CAST(row(" + ", ".join(as_written) + ") AS VARCHAR))"
        report("the files as written", align(conn, "copy_a", "copy_b", written))
        same = composition(conn, "copy_a", "copy_b")
        print(f"same as-of: contributors below k after combining = {same['below_k']} of {same['people']:,}")
        print("\nRows one holder of a raw copy of all counted votes could link back (vote's own columns)")
        for label, time_expr, counts in PRECISIONS:
            r = linkage(conn, "copy_a", time_expr, counts)
            print(f"| {label} | {r['linked']:,} of {r['rows']:,} ({r['linked'] / max(r['rows'], 1):.1%}) |")
        print(
            f"\nDifferent as-of ({AS_OF} vs {LATER}), aligned on the vote's own columns (no quasi-identifiers)"
        )
        print("| precision | rows aligned | contributors mapped |\n|---|---|---|")
        for label, time_expr, counts in (PRECISIONS[0], PRECISIONS[4]):
            report(label, align(conn, "copy_a", "copy_b_later", fingerprint(time_expr, counts, VOTE_COLUMNS)))
        later = composition(conn, "copy_a", "copy_b_later")
        print(
            f"after combining: {later['below_k']:,} of {later['people']:,} people in classes below k "
            f"({later['below_k_mapped']:,} of them mapped across copies); a mapped person's history grows "
            f"x{later['history_gain_median']:.2f} (median)"
        )


if __name__ == "__main__":
    main()
