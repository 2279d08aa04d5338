"""Shared helpers for the BigQuery tests: an emulator fixture, a client on it, dbt runners.

Import the fixtures into a test module (`from bq_emulator import bq_emulator`); each module gets
its own emulator on a free port, started before its first test and stopped by PID after its last
(also when a test fails). The emulator comes from `make emulator` (.venv-emulator): when it is
missing the fixture errors with the command to run, it never skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator_process import Emulator, repo_root, start_emulator

REPO = repo_root()
BIN = Path(sys.executable).parent
DBT = str(BIN / "dbt")
OFFERWALL = str(BIN / "offerwall")

# Environment that keeps google-auth from probing a metadata server or reading a developer's
# gcloud login: every request of these tests stays on 127.0.0.1.
ISOLATED_GOOGLE_ENV = {
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
}


@pytest.fixture(scope="module")
def bq_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = start_emulator(tmp_path_factory.mktemp("emulator-logs"))
    try:
        yield emu
    finally:
        emu.stop()
    assert emu.process.poll() is not None, f"emulator pid {emu.pid} still running"


def bq_client(emu: Emulator) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(
        project=emu.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emu.endpoint},
    )


def query_rows(client: Any, sql: str) -> list[dict[str, Any]]:
    return [dict(row) for row in client.query(sql).result()]


def base_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess: own DuckDB/target/log paths, no real Google credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BQ_", "BIGQUERY_", "GOOGLE_", "DBT_"))}
    env.update(ISOLATED_GOOGLE_ENV)
    env.update(
        {
            "CLOUDSDK_CONFIG": str(tmp / "gcloud-empty"),
            "DUCKDB_PATH": str(tmp / "wh.duckdb"),
            "DBT_PROFILES_DIR": str(REPO),
            "DBT_TARGET_PATH": str(tmp / "target"),
            "DBT_LOG_PATH": str(tmp / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    if extra:
        env.update(extra)
    return env


def run(cmd: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root; fail the test with its output when it fails."""
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited {proc.returncode}\n--- errors\n{error_lines(proc.stdout)}"
            f"\n--- stdout (tail)\n{proc.stdout[-3000:]}\n--- stderr (tail)\n{proc.stderr[-3000:]}"
        )
    return proc


def run_parallel(
    commands: list[tuple[list[str], dict[str, str]]], timeout: float = 900
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent commands side by side (2 cores: a DuckDB build next to an emulator build);
    fail the test with the output of any that fails, after all have ended."""
    procs = [
        subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for cmd, env in commands
    ]
    results = []
    for (cmd, _), proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    for res in results:
        if res.returncode != 0:
            pytest.fail(
                f"{' '.join(res.args)} exited {res.returncode}\n--- errors\n{error_lines(res.stdout)}"
                f"\n--- stdout (tail)\n{res.stdout[-3000:]}\n--- stderr (tail)\n{res.stderr[-3000:]}"
            )
    return results


def error_lines(output: str, context: int = 4, limit: int = 80) -> str:
    """The lines of a dbt run that say what failed (dbt's summary is buried under warnings)."""
    lines = output.splitlines()
    keep: list[str] = []
    for i, line in enumerate(lines):
        if any(m in line for m in ("Failure in", "Error in", "ERROR creating", "Database Error",
                                   "Compilation Error", "Runtime Error")):
            keep.extend(lines[i : i + context])
            keep.append("  ...")
    return "\n".join(keep[:limit]) or "(no dbt error lines)"
