"""The real public data the tests use is in the repository, unchanged, with its sources and licences."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from showdown_pipeline_tests.landing_builder import REAL_FIXTURES


def test_real_fixtures_are_the_files_their_readme_lists_byte_for_byte(real_fixtures):
    """Every data file is listed in the README's sha256 table and matches it; every licence file the
    README names exists. A changed, added or missing fixture fails here, not later as odd numbers."""
    repository = Path(__file__).resolve().parents[1]
    assert real_fixtures == REAL_FIXTURES and REAL_FIXTURES.resolve().is_relative_to(repository)
    readme = (real_fixtures / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| (\S+) \| ([0-9a-f]{64}) \|$", readme, re.M))
    data_files = {p.name for p in real_fixtures.iterdir() if p.is_file() and p.suffix in (".jsonl", ".csv")}
    assert set(listed) == data_files and len(data_files) == 4
    for name, digest in listed.items():
        assert hashlib.sha256((real_fixtures / name).read_bytes()).hexdigest() == digest, name
    licences = set(re.findall(r"`(LICENSES/[^`]+)`", readme))
    assert len(licences) == 3 and all((real_fixtures / p).is_file() for p in licences)
