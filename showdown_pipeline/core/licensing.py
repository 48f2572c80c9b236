"""Licensed exports: stage, verify independently, publish (rename) — the rule itself is `holdout.py`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from showdown_pipeline import settings
from showdown_pipeline.core import anonymity, holdout
from showdown_pipeline.core.digest import sha256_of
from showdown_pipeline.core.warehouse import WarehouseSession

VOTES_FILE = "votes.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class ExportLocation:
    final: Path
    staging: Path


STAGING_DIR = ".staging"  # beside a licensee's published exports; a hidden name no reader lists


def _licensee_dir(home: Path, licensee: str) -> Path:
    return settings.exports_dir(home) / holdout.check_licensee(licensee)


def export_dir(home: Path, licensee: str, as_of: date) -> Path:
    """Where the export of `licensee` as of `as_of` is published: `<home>/exports/<licensee>/<as-of>/`."""
    return _licensee_dir(home, licensee) / as_of.isoformat()


def staged_exports(home: Path, licensee: str, run_id: str) -> list[Path]:
    """The staging folders run `run_id` wrote for `licensee` (one, when the run staged an export)."""
    return sorted((_licensee_dir(home, licensee) / STAGING_DIR).glob(f"*-{run_id}"))


def export_location(home: Path, licensee: str, as_of: date, run_id: str) -> ExportLocation:
    return ExportLocation(
        final=export_dir(home, licensee, as_of),
        staging=_licensee_dir(home, licensee) / STAGING_DIR / f"{as_of.isoformat()}-{run_id}",
    )


def _sql_params(licensee: str, as_of: date) -> dict:
    key = holdout.licensee_key(holdout.license_secret(), licensee, as_of)
    inner, outer = holdout.hmac_pads(key)
    holdout_cutoff, data_cut = holdout.export_window(as_of)
    return {"inner_key": inner, "outer_key": outer, "holdout_cutoff": holdout_cutoff, "data_cut": data_cut}


_RECODE_SCHEMA = pa.schema([("attribute", pa.string()), ("value", pa.string()), ("output", pa.string())])


def recode_table(recode: dict[str, dict[str, str]]) -> pa.Table:
    """attribute, value, output: a value-level recoding as a table SQL can join."""
    rows = [(a, v, o) for a, mapping in recode.items() for v, o in mapping.items()]
    return pa.table(
        {n: [r[i] for r in rows] for i, n in enumerate(_RECODE_SCHEMA.names)}, schema=_RECODE_SCHEMA
    )


def licensed_votes(session: WarehouseSession, params: dict) -> tuple[pa.Table, dict]:
    """The export's rows (keyed, coarsened, k-anonymous, in vote_key order) and the k-anonymity account."""
    session.run("licensing/create_export_rounding")
    session.run("licensing/create_licensed_candidates", params)
    counts = session.one("licensing/candidate_counts")
    candidates, candidate_contributors = counts["rows"], counts["contributors"]
    plan = anonymity.anonymise(session.query("licensing/quasi_identifier_rows").to_pandas())
    suppressed = pa.table({"contributor_key": pa.array(plan.suppressed["contributor_key"], pa.string())})
    with (
        session.registered("export_recode", recode_table(plan.recode)),
        session.registered("export_suppressed", suppressed),
    ):
        table = session.query("licensing/licensed_votes")
    session.run("licensing/drop_licensed_candidates")
    contributors = len(pc.unique(table.column("contributor_key")))
    account = {
        **plan.report(),
        "suppressed_votes": candidates - table.num_rows,
        "contributors_removed": candidate_contributors - contributors,
    }
    return table, account


def stage_export(
    session: WarehouseSession,
    home: Path,
    licensee: str,
    as_of: date,
    run_id: str,
    today: date | None = None,
) -> tuple[ExportLocation, dict]:
    """Write the export to its staging folder (votes.parquet + manifest.json); returns (location, manifest).

    Nothing is written when the secret is weak or missing, or the as-of is later than `today` (UTC)."""
    holdout.check_export_as_of(as_of, today)
    params = _sql_params(licensee, as_of)  # raises before anything is written
    location = export_location(home, licensee, as_of, run_id)
    if location.final.exists():
        raise holdout.HoldoutError(
            f"an export for {licensee} as of {as_of} is already published at {location.final}"
        )
    table, k_account = licensed_votes(session, params)
    location.staging.mkdir(parents=True, exist_ok=False)
    pq.write_table(table, location.staging / VOTES_FILE)
    manifest = {
        "licensee": licensee,
        "as_of": as_of.isoformat(),
        "data_cut_utc": params["data_cut"].isoformat().replace("+00:00", "Z"),
        "holdout_cutoff_utc": params["holdout_cutoff"].isoformat().replace("+00:00", "Z"),
        "policy_version": holdout.POLICY_VERSION,
        "holdout_days": holdout.HOLDOUT_DAYS,
        "pseudonyms": "contributor_key, vote_key, prompt_key: HMAC-SHA256 under a key derived from "
        "SHOWDOWN_LICENSE_KEY for this export (licensee and as-of): no key is shared with another export",
        "leak_guard": "no vote whose prompt any ingested record carried that might be live and was voted "
        "after holdout_cutoff_utc (no upper bound) or is undated; depends on the warehouse below",
        "warehouse": warehouse_state(session),
        "precision": holdout.EXPORT_PRECISION,
        "row_order": "vote_key",
        "k_anonymity": k_account,
        "rows": table.num_rows,
        "contributors": len(pc.unique(table.column("contributor_key"))),
        "by_distribution": _value_counts(table.column("distribution").to_pylist()),
        "columns": table.column_names,
        "files": {VOTES_FILE: {"sha256": sha256_of(location.staging / VOTES_FILE), "rows": table.num_rows}},
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "dagster_run_id": run_id,
    }
    (location.staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return location, manifest


def warehouse_state(session: WarehouseSession) -> dict:
    """The warehouse an export is made from: its contents depend on it (the leak guard reads every vote
    record ingested so far), so the manifest names the ledger's size, last delivery and its run."""
    row = session.one("licensing/warehouse_state")
    return {
        k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v) for k, v in row.items()
    }


def stage_and_verify(
    session: WarehouseSession,
    home: Path,
    licensee: str,
    as_of: date,
    run_id: str,
    hook: Callable[[Path], None] | None = None,
) -> tuple[ExportLocation, dict, list[dict]]:
    """Stage the export, call `hook` on the staged folder (tests tamper there), verify it independently.
    Returns (location, manifest, violations). A refused export never stays on disk: the staging folder is
    removed when verification finds a violation (the violations, with samples, are the evidence) or when
    anything fails after the folder was created; nothing is left in the licensee's folder to ship."""
    location = export_location(home, licensee, as_of, run_id)
    try:
        location, manifest = stage_export(session, home, licensee, as_of, run_id)
        if hook is not None:
            hook(location.staging)
        violations = verify_export(session, location.staging, licensee, as_of)
    except BaseException:
        discard_staging(location)
        raise
    if violations:
        discard_staging(location)
    return location, manifest, violations


def _value_counts(values: list) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def verify_export(session: WarehouseSession, folder: Path, licensee: str, as_of: date) -> list[dict]:
    """Every rule re-checked on the written file with queries independent of the one that wrote it.
    Returns the violations (empty: the export may be published)."""
    path = Path(folder) / VOTES_FILE
    violations: list[dict] = []
    leaked = sorted(set(pq.read_schema(path).names) & set(holdout.FORBIDDEN_COLUMNS))
    if leaked:
        violations.append({"rule": "forbidden_column", "rows": len(leaked), "sample": leaked})
    manifest = json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))
    if sha256_of(path) != manifest["files"][VOTES_FILE]["sha256"]:
        violations.append({"rule": "file_differs_from_manifest", "rows": 1, "sample": [VOTES_FILE]})
    params = _sql_params(licensee, as_of)
    declared = recode_table(manifest.get("k_anonymity", {}).get("generalised", {}))
    with session.registered("declared_recode", declared):
        rows = session.rows(
            "licensing/export_violations",
            {
                "export_path": str(path),
                "inner_key": params["inner_key"],
                "outer_key": params["outer_key"],
                "data_cut": params["data_cut"],
                "holdout_days": holdout.HOLDOUT_DAYS,
            },
        )
    violations.extend({"rule": r["rule"], "rows": r["rows"], "sample": r["sample"]} for r in rows)
    small = session.rows(
        "licensing/export_small_groups", {"export_path": str(path), "k_anonymity": holdout.K_ANONYMITY}
    )
    for level, rule in (
        ("row", "quasi_identifier_combination_below_k"),
        ("contributor", "contributor_profile_below_k"),
    ):
        found = [s for s in small if s["level"] == level]
        if found:
            violations.append(
                {"rule": rule, "rows": len(found), "sample": [_combination(s) for s in found[:5]]}
            )
    return violations


def _combination(row: dict) -> str:
    parts = ", ".join(f"{a}={row[a]}" for a in anonymity.CONTRIBUTOR_ATTRIBUTES)
    return f"{parts}, languages={row['languages']}: {row['holders']} contributors"


def publish_export(staging: Path, final: Path) -> Path:
    """Move a verified export into place in one rename; the staging folder disappears."""
    if final.exists():
        raise holdout.HoldoutError(f"{final} already exists; published exports are never rewritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging, final)
    return final


WITHDRAWN_DIR = ".withdrawn"  # beside a licensee's exports: published folders that failed their audit


def append_export_audit(
    session: WarehouseSession, manifest: dict, final: Path, run_id: str, note: str | None = None
) -> None:
    """Append the audit row of a published export (created on first use; rows are never rewritten);
    `note`: how it was audited, when not as it was published."""
    session.run("licensing/create_export_audit")
    session.run("licensing/add_export_audit_note")
    session.run(
        "licensing/append_export_audit",
        {
            "licensee": manifest["licensee"],
            "as_of": manifest["as_of"],
            "holdout_cutoff": manifest["holdout_cutoff_utc"],
            "policy_version": manifest["policy_version"],
            "rows": manifest["rows"],
            "sha256": manifest["files"][VOTES_FILE]["sha256"],
            "path": str(final),
            "run_id": run_id,
            "note": note,
        },
    )


def audit_published_exports(session: WarehouseSession, home: Path, run_id: str) -> list[str]:
    """Give every published export without an audit row its row, or withdraw it; returns what was done.

    An export is published by a rename and audited by the next statement: a process killed between the
    two leaves an export on disk that `export_audit` does not name. Run on start by every run on the home
    (and the export job): a folder `exports/<licensee>/<as-of>/` whose votes match their manifest's
    sha256 gets its audit row from the manifest, noted as recovered; one that does not match (changed
    after publication) is moved to `<licensee>/.withdrawn/`, never left to ship unaudited."""
    root = settings.exports_dir(home)
    published = sorted(p.parent for p in root.glob(f"[!.]*/[!.]*/{MANIFEST_FILE}")) if root.is_dir() else []
    if not published:
        return []
    session.run("licensing/create_export_audit")
    audited = {(r["licensee"], r["as_of"]) for r in session.rows("licensing/audited_exports")}
    done = []
    for folder in published:
        if folder.is_symlink() or folder.parent.is_symlink() or (folder.parent.name, folder.name) in audited:
            continue
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        votes = folder / VOTES_FILE
        if votes.is_file() and sha256_of(votes) == manifest["files"][VOTES_FILE]["sha256"]:
            note = f"audited on recovery by run {run_id}: its publisher died between the rename and the audit row"
            append_export_audit(session, manifest, folder, str(manifest.get("dagster_run_id")), note)
            done.append(f"audited {folder}")
        else:
            withdrawn = folder.parent / WITHDRAWN_DIR / f"{folder.name}-{run_id}"
            withdrawn.parent.mkdir(exist_ok=True)
            os.rename(folder, withdrawn)
            done.append(f"withdrew {folder} to {withdrawn}: its votes do not match its manifest")
    return done


def discard_staging(location: ExportLocation) -> None:
    """Remove a staged export, and the licensee's empty staging folders with it."""
    shutil.rmtree(location.staging, ignore_errors=True)
    for folder in (location.staging.parent, location.staging.parent.parent):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: another export of the licensee may be staged or published
