"""The installed `offerwall generate` / `advance` commands: real runs and bad input (one line, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

OFFERWALL = str(Path(sys.executable).with_name("offerwall"))
GEN = ["generate", "--users", "300", "--days", "10", "--seed", "5", "--bad-rate", "0.02", "--fraud-rate", "0.05"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DUCKDB_PATH"}
    return subprocess.run([OFFERWALL, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def _assert_one_line_error(result: subprocess.CompletedProcess) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "error" in lines[0]


def test_generate_then_advance_through_the_cli(tmp_path):
    db = tmp_path / "wh.duckdb"
    out = _run(*GEN, "--start", "2026-03-01", "--duckdb", str(db), "--parquet", str(tmp_path / "pq"))
    assert out.returncode == 0, out.stderr
    assert "rows/s" in out.stderr
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == sorted(
        f"{t}.parquet" for t in ("offers", "offer_tasks", "user_offers", "users", "ua_spend_daily"))
    out = _run("advance", "--days", "3", "--duckdb", str(db))
    assert out.returncode == 0, out.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        clock = con.execute("select clock from sim.state").fetchall()[0][0]
    assert clock.isoformat() == "2026-03-14T00:00:00"


def test_default_duckdb_path_comes_from_env(tmp_path):
    db = tmp_path / "from_env.duckdb"
    env = {**os.environ, "DUCKDB_PATH": str(db)}
    out = subprocess.run([OFFERWALL, *GEN], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert db.exists()


@pytest.mark.parametrize("args", [
    [*GEN, "--no-such-flag"],
    ["generate", "--users", "-5", "--days", "10", "--seed", "1", "--bad-rate", "0", "--fraud-rate", "0"],
    ["generate", "--users", "10", "--days", "-1", "--seed", "1", "--bad-rate", "0", "--fraud-rate", "0"],
    ["generate", "--users", "10", "--days", "3", "--seed", "-1", "--bad-rate", "0", "--fraud-rate", "0"],
    ["generate", "--users", "10", "--days", "3", "--seed", "1", "--bad-rate", "2", "--fraud-rate", "0"],
    ["generate", "--users", "ten", "--days", "3", "--seed", "1", "--bad-rate", "0", "--fraud-rate", "0"],
    ["generate", "--users", "10", "--days", "3", "--seed", "1", "--bad-rate", "0", "--fraud-rate", "0",
     "--start", "01/02/2026"],
    ["advance", "--days", "-3"],
    ["advance"],
])
def test_bad_command_lines(tmp_path, args):
    _assert_one_line_error(_run(*args, cwd=tmp_path))
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_advance_on_a_missing_file(tmp_path):
    result = _run("advance", "--days", "2", "--duckdb", str(tmp_path / "nope.duckdb"))
    _assert_one_line_error(result)
    assert "not found" in result.stderr
    assert not (tmp_path / "nope.duckdb").exists()


def test_advance_on_a_file_without_a_source(tmp_path):
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    result = _run("advance", "--days", "2", "--duckdb", str(db))
    _assert_one_line_error(result)
    assert "offerwall generate" in result.stderr


def test_generate_into_an_unwritable_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _assert_one_line_error(_run(*GEN, "--duckdb", str(blocker / "wh.duckdb")))
