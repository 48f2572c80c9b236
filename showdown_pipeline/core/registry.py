"""Which model registry is in force, and why: never "no registry" because a models.csv failed.

The registry in force is the ingested models.csv the landing zone held last (`sql/validate/registry_files.sql`
orders them by the latest run that found each one, so reverting models.csv to bytes delivered before puts
those back in force; `sql/validate/model_registry.sql` types it). A models.csv rejected after it (unreadable,
wrong header, over a limit, a symlink out of the landing root) does not replace it: the previous registry
stays, and the manifest says which file was rejected and why. When a models.csv was delivered but none was
ever ingested, there is no registry to keep, and rating every model named in the votes would be wrong: the
run stops (`RegistryUnavailable`). Only a landing zone that never had a models.csv runs without a registry (DESIGN §2.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from showdown_pipeline.core.warehouse import WarehouseSession


class RegistryUnavailable(Exception):
    """A models.csv was delivered but none could be read: the run must not rate without a registry."""


@dataclass(frozen=True)
class RegistryState:
    in_force: dict | None  # path, sha256 of the models.csv in force; None: no models.csv was ever delivered
    rejected: list[dict] = field(default_factory=list)  # models.csv rejected after the one in force

    @property
    def in_force_sha256(self) -> str | None:
        """The sha256 whose raw_models rows are the registry (None: no models.csv, an empty registry)."""
        return None if self.in_force is None else self.in_force["sha256"]

    def manifest_section(self, usable: int, unusable: int) -> dict:
        """The manifest's `registry` section."""
        section = {
            "source": "models.csv"
            if self.in_force
            else "none: every model named in the votes counts as registered",
            "models": usable,
            "unusable_rows": unusable,
            "in_force": self.in_force,
            "rejected_after_it": self.rejected,
        }
        if self.rejected:
            latest = self.rejected[-1]
            section["note"] = (
                f"{latest['path']} (sha256 {latest['sha256'][:12]}) was rejected: {latest['error']}; "
                f"the registry of {self.in_force['path']} (sha256 {self.in_force['sha256'][:12]}) stays in force"
            )
        return section


def registry_state(session: WarehouseSession) -> RegistryState:
    """The registry in force and the models.csv rejected after it; raises RegistryUnavailable when a
    models.csv was delivered and none was ever ingested."""
    rows = session.rows("validate/registry_files")
    ingested = [r for r in rows if r["status"] == "ingested"]
    if rows and not ingested:
        latest = rows[-1]
        raise RegistryUnavailable(
            f"no model registry: {latest['path']} was rejected ({latest['error']}) and no earlier "
            "models.csv was ever ingested; deliver a readable models.csv (see the README, Landing files)"
        )
    if not rows:
        return RegistryState(in_force=None)
    current = ingested[-1]
    after = rows[rows.index(current) + 1 :]
    rejected = [
        {"path": r["path"], "sha256": r["sha256"], "error": r["error"]}
        for r in after
        if r["status"] == "rejected"
    ]
    in_force = {
        "path": current["path"],
        "sha256": current["sha256"],
        "landed_at": current["landed_at"].isoformat(),
    }
    return RegistryState(in_force=in_force, rejected=rejected)
