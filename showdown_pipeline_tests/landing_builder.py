"""Build small landing zones for tests, in the canonical formats of DESIGN §2."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REAL_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real"  # copies, with sources and licences

BASE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.isoformat()


def vote(i: int, **overrides) -> dict:
    """A valid canonical vote; `overrides` change or (with None) blank fields. A readable voted_at given
    without a shown_at gets one 20 s earlier (an answer is shown before the vote)."""
    voted = BASE_TIME + timedelta(minutes=i)
    shown = _instant(overrides.get("voted_at")) or voted
    record = {
        "vote_id": f"v-{i}",
        "battle_id": f"b-{i}",
        "user_id": f"u-{i % 7}",
        "session_id": f"s-{i}",
        "voted_at": iso(voted),
        "shown_at": iso(shown - timedelta(seconds=20)),
        "exported_at": iso(voted + timedelta(hours=1)),
        "model_left": "m-a",
        "model_right": "m-b",
        "in_flow_side": "left",
        "winner": "left",
        "distribution": "live",
        "language": "en",
        "category": "general",
        "prompt_hash": f"{i:016x}",
        "identities_hidden": True,
        "tokens_left": 300,
        "tokens_right": 250,
        "headers_left": 1,
        "headers_right": 0,
        "lists_left": 2,
        "lists_right": 1,
        "bold_left": 0,
        "bold_right": 3,
        "latency_ms_left": 1200,
        "latency_ms_right": 900,
        "error_left": False,
        "error_right": False,
        "ip_hash": f"ip{i % 5}",
        "device_hash": f"dev{i % 5}",
    }
    record.update(overrides)
    return record


def _instant(text) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def retime(record: dict, voted_at: str, **more) -> dict:
    """Move a vote to `voted_at`, its answers shown 20 s before (never after the vote)."""
    record.update(voted_at=voted_at, shown_at=iso(_instant(voted_at) - timedelta(seconds=20)), **more)
    return record


def write_jsonl(path: Path, records: list, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        path.write_text(lines, encoding="utf-8")
    return path


def write_parquet(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {k: [r.get(k) for r in records] for k in records[0]}
    for key in ("voted_at", "shown_at", "exported_at"):
        if key in columns:
            columns[key] = pa.array(
                [datetime.fromisoformat(v) if v else None for v in columns[key]],
                type=pa.timestamp("us", tz="UTC"),
            )
    pq.write_table(pa.table(columns), path)
    return path


def write_models(path: Path, rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["model_id,display_name,provider,released_at,deprecated_at"]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def random_valid_votes(start: int, n: int, models: list[str], seed: int, users: int = 60) -> list[dict]:
    """n valid votes with outcomes drawn from fixed strengths (first model strongest)."""
    rng = np.random.default_rng(seed)
    strength = {m: 1.0 - 0.5 * k for k, m in enumerate(models)}
    out = []
    for i in range(start, start + n):
        a, b = rng.choice(len(models), size=2, replace=False)
        left, right = models[a], models[b]
        p = 1.0 / (1.0 + np.exp(-(strength[left] - strength[right])))
        u = rng.random()
        winner = "both_good" if u < 0.1 else ("left" if rng.random() < p else "right")
        out.append(
            vote(i, model_left=left, model_right=right, winner=winner, user_id=f"u-{rng.integers(users)}")
        )
    return out


@dataclass
class MessyLanding:
    """A landing zone with every kind of bad input, and what the pipeline must make of it."""

    root: Path
    expected_reasons: dict[str, str] = field(default_factory=dict)  # vote_id -> quarantine reason
    expected_duplicates: dict[str, str] = field(default_factory=dict)  # reason -> vote_id of the dropped row
    rejected_files: set[str] = field(default_factory=set)
    rows_in: int = 0
    valid_votes: int = 0


def build_messy_landing(root: Path) -> MessyLanding:
    models = ["m-a", "m-b", "m-c"]
    write_models(
        root / "models.csv",
        [
            ("m-a", "Model A", "acme", "2025-01-01", None),
            ("m-b", "Model B", "acme", "2025-01-01", None),
            ("m-c", "Model C", "other", "2025-01-01", None),
            ("m-old", "Old", "acme", "2024-01-01", "2026-01-01"),
        ],
    )
    good = random_valid_votes(0, 400, models, seed=1)
    bad = {
        "v-1000": ("invalid_winner", vote(1000, winner="tie")),
        "v-1001": ("same_model_both_sides", vote(1001, model_right="m-a")),
        "v-1002": ("unregistered_model", vote(1002, model_right="m-zzz")),
        "v-1003": ("missing_required_field", vote(1003, user_id=None)),
        "v-1004": ("voted_after_export", vote(1004, exported_at=iso(BASE_TIME - timedelta(days=1)))),
        "v-1005": ("identities_visible", vote(1005, identities_hidden=False)),
        "v-1006": ("response_error", vote(1006, error_left=True)),
        "v-1007": ("invalid_timestamp", vote(1007, voted_at="2026-03-01T12:00:00")),
        "v-1008": ("invalid_field", vote(1008, tokens_left=-5)),
        "v-1009": ("model_not_active", vote(1009, model_right="m-old")),
        "v-1010": ("invalid_winner", vote(1010, winner="draw")),
        "v-1011": ("missing_required_field", vote(1011, winner=None)),
    }
    day1 = [*good[:300], *(rec for _, rec in bad.values()), "this is not json {", "[1, 2, 3]", ""]
    write_jsonl(root / "votes" / "2026-03-01" / "votes.jsonl", day1)

    # Day 2 (gzip): an exact re-delivery of v-5, a corrected re-export of v-6 (later exported_at, flipped
    # winner), a second vote of v-7's user on v-7's battle, and 50 new valid votes.
    v5, v6, v7 = good[5], good[6], good[7]
    corrected = dict(v6, winner="right" if v6["winner"] != "right" else "left")
    corrected["exported_at"] = iso(datetime.fromisoformat(v6["exported_at"]) + timedelta(days=1))
    second = dict(
        v7, vote_id="v-7-again", voted_at=iso(datetime.fromisoformat(v7["voted_at"]) + timedelta(seconds=30))
    )
    write_jsonl(
        root / "votes" / "2026-03-02" / "votes.jsonl.gz", [v5, corrected, second, *good[300:350]], gz=True
    )

    write_parquet(root / "votes" / "2026-03-03" / "votes.parquet", good[350:400])

    # Unreadable files: each is rejected whole; none of their rows count.
    broken = root / "votes" / "2026-03-03" / "truncated.jsonl.gz"
    write_jsonl(broken, random_valid_votes(5000, 200, models, seed=2), gz=True)
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    (root / "votes" / "2026-03-03" / "random.parquet").write_bytes(np.random.default_rng(3).bytes(4096))
    (root / "votes" / "2026-03-03" / "latin1.jsonl").write_bytes(
        (json.dumps(vote(6000)) + "\n").encode() + '{"vote_id": "caf\xe9"}\n'.encode("latin-1")
    )
    (root / "votes" / "2026-03-03" / "notes.txt").write_text("not a vote file\n")

    write_jsonl(
        root / "contributors" / "contributors.jsonl",
        [
            {
                "user_id": f"u-{k}",
                "country": "BR" if k % 2 else "DE",
                "age_band": "25-34",
                "education": "master",
                "profession": "nurse",
                "languages": ["pt", "en"],
                "verified": True,
                "verified_at": "2026-01-01T00:00:00Z",
            }
            for k in range(60)
        ]
        + [
            {
                "user_id": "u-1",
                "country": "FR",
                "age_band": "35-44",
                "education": "bachelor",
                "profession": "teacher",
                "languages": ["fr"],
                "verified": True,
                "verified_at": "2026-02-01T00:00:00Z",
            },
            {"user_id": "u-2", "age_band": "12-17", "verified": True},
            "{broken",
        ],
    )
    landing = MessyLanding(root=root)
    landing.expected_reasons = {vid: reason for vid, (reason, _) in bad.items()}
    landing.expected_duplicates = {
        "exact_duplicate": v5["vote_id"],
        "superseded": v6["vote_id"],
        "duplicate_user_battle": "v-7-again",
    }
    landing.rejected_files = {
        "votes/2026-03-03/truncated.jsonl.gz",
        "votes/2026-03-03/random.parquet",
        "votes/2026-03-03/latin1.jsonl",
        "votes/2026-03-03/notes.txt",
    }
    # rows: day1 = 300 good + 12 bad + 2 unparseable (the blank line is not a record); day2 = 53; day3 = 50
    landing.rows_in = 300 + len(bad) + 2 + 53 + 50
    landing.valid_votes = 400
    return landing
