"""The Dagster webserver loads workspace.yaml and serves the asset graph and checks over GraphQL; the lineage
it shows holds every table a run writes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    dependencyKeys { path }
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, query: str) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _full_run_and_export(tmp_path: Path, monkeypatch) -> set[str]:
    """A full `showdown run` and a `showdown export` on a small landing zone; the tables they left."""
    from showdown_pipeline import cli
    from showdown_pipeline.core import holdout
    from showdown_pipeline.core.warehouse import duckdb_session
    from showdown_pipeline_tests.conftest import TEST_SECRET
    from showdown_pipeline_tests.landing_builder import (
        random_valid_votes,
        write_jsonl,
        write_models,
    )

    landing, home = tmp_path / "landing", tmp_path / "home"
    models = ["m-a", "m-b", "m-c"]
    write_models(landing / "models.csv", [(m, m, "p", "2025-01-01", None) for m in models])
    write_jsonl(landing / "votes" / "votes.jsonl", random_valid_votes(0, 300, models, seed=5))
    write_jsonl(
        landing / "contributors" / "people.jsonl",
        [{"user_id": f"u-{k}", "country": "BR", "verified": True} for k in range(60)],
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "cli-dagster"))  # the CLI points it at the home
    monkeypatch.setenv(holdout.SECRET_ENV, TEST_SECRET)
    as_of = ["--as-of", "2026-06-01"]
    assert cli.main(["run", "--landing", str(landing), "--home", str(home), *as_of]) == 0
    assert (
        cli.main(["export", "--licensee", "acme", "--home", str(home), "--landing", str(landing), *as_of])
        == 0
    )
    with duckdb_session(home / "warehouse.duckdb", read_only=True) as session:
        return session.table_names()


@pytest.mark.slow
def test_webserver_serves_the_asset_graph_and_checks(tmp_path, monkeypatch):
    """The UI's lineage (GraphQL assetNodes) holds every table a full run and an export wrote, each with
    its grain, and the tables read across stages are upstream of their readers."""
    tables = _full_run_and_export(tmp_path, monkeypatch)
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "SHOWDOWN_LANDING": str(tmp_path / "landing"),
        "SHOWDOWN_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    webserver = Path(sys.executable).with_name("dagster-webserver")
    # A background webserver ignores SIGINT/SIGTERM unless SIGINT is back to its default before exec.
    process = subprocess.Popen(
        [str(webserver), "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 120
        data = None
        while time.time() < deadline:
            if process.poll() is not None:
                pytest.fail("webserver exited:\n" + process.stdout.read().decode()[-3000:])
            try:
                data = _post(f"http://127.0.0.1:{port}/graphql", QUERY)
                if data.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert data and data["data"]["assetNodes"], data
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
        assert {
            "landing_files",
            "votes_clean",
            "overall_ratings",
            "country_ratings",
            "leaderboard_snapshot",
            "licensed_export",
        } <= set(nodes)
        assert nodes["votes_clean"]["groupName"] == "validate"
        checks = {c["name"]: c["blocking"] for c in nodes["votes_clean"]["assetChecksOrError"]["checks"]}
        assert checks == {
            "input_rows_reconcile": True,
            "no_duplicate_vote_ids": True,
            "votes_clean_passes_expectations": True,
        }
        export_checks = nodes["licensed_export_staged"]["assetChecksOrError"]["checks"]
        assert export_checks == [{"name": "holdout_window_respected", "blocking": True}]
        # every table in the warehouse is in the lineage, with its grain ("One row per …")
        assert {"integrity_summary", "vote_reviews", "export_audit", "contributors_checked"} <= tables
        assert tables - set(nodes) == set()
        assert all(nodes[t]["description"].startswith("One ") for t in tables)
        upstream = {k: {"/".join(d["path"]) for d in n["dependencyKeys"]} for k, n in nodes.items()}
        assert "integrity_summary" in upstream["overall_ratings"] & upstream["leaderboard_snapshot"]
        assert {t for t in tables if t.endswith("_rating_parameters")} <= upstream["leaderboard_snapshot"]
        assert {"contributors_checked", "model_registry", "landing_files"} <= upstream["leaderboard_snapshot"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
            stopped_by_sigint = True
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            stopped_by_sigint = False
    assert stopped_by_sigint, "the webserver ignored SIGINT for 20 s and had to be killed"
