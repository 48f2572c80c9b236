"""The Dagster webserver loads workspace.yaml and serves the asset graph and checks over GraphQL."""

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


@pytest.mark.slow
def test_webserver_serves_the_asset_graph_and_checks(tmp_path):
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
