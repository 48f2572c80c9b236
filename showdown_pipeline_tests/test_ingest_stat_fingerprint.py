"""Known by stat: a night re-reads only the landing files that changed. A file whose (device, inode, size,
mtime_ns, ctime_ns) at its path is the one recorded when its bytes were last hashed there is not read again;
any difference, a new path, or a fingerprint never recorded (the file was too fresh) makes the run hash it.

Every test runs the real ingest asset on a real warehouse and watches which files the ingest hashes (the only
way a file's bytes are read before staging). The trust trade-off is in README, "Landing files".
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from showdown_pipeline.core import landing, staging
from showdown_pipeline_tests.landing_builder import write_jsonl, write_models
from showdown_pipeline_tests.test_landing_files import (
    ledger,
    query,
    run_ingest,
    tagged_votes,
    vote_ids_by_path,
)

SETTLE_NS = 50_000_000  # the tests' settle margin (the pipeline's is 2 s), waited out with room to spare


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The landing files the ingest hashes, by name, in order (the settle margin shortened to 50 ms)."""
    seen: list[str] = []
    real = staging.hash_and_fingerprint

    def spy(path: Path, root: Path):
        seen.append(path.name)
        return real(path, root)

    monkeypatch.setattr(staging, "hash_and_fingerprint", spy)
    monkeypatch.setattr(staging, "STAT_SETTLE_NS", SETTLE_NS)
    return seen


def settle() -> None:
    time.sleep(4 * SETTLE_NS / 1e9)


def day_files(landing: Path, tags: list[str]) -> dict[str, Path]:
    paths = {tag: landing / "votes" / "2026-03-01" / f"{tag}.jsonl" for tag in tags}
    for tag, path in paths.items():
        write_jsonl(path, tagged_votes(tag))
    return paths


def ingested_days(tmp_path: Path, tags: list[str]) -> tuple[Path, Path, dict[str, Path]]:
    """Day files for `tags` written, left to settle and ingested once: (landing root, home, their paths)."""
    landing_root, home = tmp_path / "landing", tmp_path / "home"
    paths = day_files(landing_root, tags)
    settle()
    run_ingest(landing_root, home)
    return landing_root, home, paths


def ingest_again(landing_root: Path, home: Path, hashed: list[str]) -> list[str]:
    """One more ingest; the names of the files it hashed."""
    hashed.clear()
    run_ingest(landing_root, home)
    return list(hashed)


def stat_parts(info: os.stat_result) -> tuple:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def test_an_unchanged_landing_zone_is_not_read_again_and_a_new_day_is_the_only_file_read(tmp_path, hashed):
    landing_root, home, _ = ingested_days(tmp_path, ["a", "b", "c"])
    assert sorted(hashed) == ["a.jsonl", "b.jsonl", "c.jsonl"]
    first = ledger(home)
    assert ingest_again(landing_root, home, hashed) == []
    assert ledger(home) == first
    new_day = landing_root / "votes" / "2026-03-02" / "d.jsonl"
    write_jsonl(new_day, tagged_votes("d"))
    run_ingest(landing_root, home)
    assert hashed == ["d.jsonl"]
    assert vote_ids_by_path(home)["votes/2026-03-02/d.jsonl"] == {"d#0", "d#1", "d#2"}


def test_a_file_rewritten_in_place_is_read_again(tmp_path, hashed):
    landing_root, home, paths = ingested_days(tmp_path, ["a", "b"])
    inode = os.stat(paths["a"]).st_ino
    with open(paths["a"], "wb") as handle:  # same inode, other bytes, other size
        handle.write(b'{"vote_id": "rewritten"}\n')
    assert os.stat(paths["a"]).st_ino == inode
    assert ingest_again(landing_root, home, hashed) == ["a.jsonl"]
    assert "rewritten" in {r[0] for r in query(home, "SELECT vote_id FROM raw_votes")}


def test_a_same_size_rewrite_with_its_mtime_put_back_is_noticed_by_its_ctime(tmp_path, hashed):
    landing_root, home, paths = ingested_days(tmp_path, ["a", "b"])
    before = os.stat(paths["a"])
    write_jsonl(paths["a"], tagged_votes("z"))  # "z#k" for "a#k": the same size
    os.utime(paths["a"], ns=(before.st_atime_ns, before.st_mtime_ns))
    after = stat_parts(os.stat(paths["a"]))
    assert after[:4] == stat_parts(before)[:4] and after[4] != before.st_ctime_ns  # only the ctime tells
    assert ingest_again(landing_root, home, hashed) == ["a.jsonl"]
    assert {"z#0", "z#1", "z#2"} <= {r[0] for r in query(home, "SELECT vote_id FROM raw_votes")}


def test_a_renamed_file_is_hashed_under_its_new_name_and_found_unchanged(tmp_path, hashed):
    landing_root, home, paths = ingested_days(tmp_path, ["a", "b"])
    rows = query(home, "SELECT count(*) FROM raw_votes")
    os.rename(paths["a"], paths["a"].with_name("a-renamed.jsonl"))
    hashed.clear()
    result = run_ingest(landing_root, home)
    assert hashed == ["a-renamed.jsonl"]
    assert query(home, "SELECT count(*) FROM raw_votes") == rows  # the same bytes: nothing counts twice
    assert result.success


def test_a_file_replaced_by_another_of_the_same_size_and_mtime_is_noticed(tmp_path, hashed):
    landing_root, home, paths = ingested_days(tmp_path, ["a", "b"])
    before = os.stat(paths["a"])
    replacement = landing_root / "votes" / ".incoming.jsonl"  # hidden: never read while it is written
    write_jsonl(replacement, tagged_votes("y"))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, paths["a"])
    assert os.stat(paths["a"]).st_size == before.st_size
    assert ingest_again(landing_root, home, hashed) == ["a.jsonl"]
    assert {"y#0", "y#1", "y#2"} <= {r[0] for r in query(home, "SELECT vote_id FROM raw_votes")}


def test_a_models_csv_known_by_stat_is_still_sighted_so_it_stays_the_registry_in_force(tmp_path, hashed):
    landing_root, home = tmp_path / "landing", tmp_path / "home"
    write_models(landing_root / "models.csv", [("m-a", "A", "p", "2025-01-01", None)])
    day_files(landing_root, ["a"])
    settle()
    run_ingest(landing_root, home)
    sighted = "SELECT seen_seq FROM landing_files WHERE kind = 'models'"
    first = query(home, sighted)
    assert ingest_again(landing_root, home, hashed) == []
    assert query(home, sighted)[0][0] > first[0][0]


def test_a_file_too_fresh_to_trust_its_stat_is_hashed_again(tmp_path, hashed, monkeypatch):
    landing_root, home = tmp_path / "landing", tmp_path / "home"
    day_files(landing_root, ["a"])
    monkeypatch.setattr(staging, "STAT_SETTLE_NS", 3600 * 10**9)  # written less than an hour ago
    run_ingest(landing_root, home)
    run_ingest(landing_root, home)
    assert hashed == ["a.jsonl", "a.jsonl"]
    assert query(home, "SELECT stat_fingerprint FROM landing_files WHERE kind = 'votes'") == [(None,)]


def test_turning_stat_trust_off_hashes_every_file_every_run(tmp_path, hashed, monkeypatch):
    landing_root, home, _ = ingested_days(tmp_path, ["a", "b"])
    monkeypatch.setenv(landing.ENV_TRUST_STAT, "0")
    assert sorted(ingest_again(landing_root, home, hashed)) == ["a.jsonl", "b.jsonl"]


def test_a_bad_stat_trust_switch_is_refused_with_its_name():
    with pytest.raises(ValueError, match=landing.ENV_TRUST_STAT):
        landing.trust_stat_from_env({landing.ENV_TRUST_STAT: "maybe"})
