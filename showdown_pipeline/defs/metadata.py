"""Small helpers for asset metadata shown in the Dagster UI."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(rows: Iterable[Sequence], header: Sequence[str]) -> str:
    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.1f}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def row_count(n: int) -> dict[str, int]:
    """The standard `dagster/row_count` entry (what TableMetadataSet writes; the UI shows it as row count)."""
    return {"dagster/row_count": int(n)}


def result_for(context, key: str, metadata: dict):
    """The event for a table a step wrote: its result when the run selected it; otherwise (a multi-asset
    subset, e.g. one board materialized alone still records its parameters) a materialization event, so
    the event log never misses a write."""
    import dagster as dg

    if dg.AssetKey(key) in context.selected_asset_keys:
        return dg.MaterializeResult(asset_key=key, metadata=metadata)
    return dg.AssetMaterialization(asset_key=key, metadata=metadata)
