"""DuckDB's memory limit and threads: profiles.yml applies them (defaults or the environment), the
benchmark's lower bound applies the same, and the benchmark records them with the spill folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from offerwall.bench.duckdb_settings import DUCKDB_DEFAULTS, duckdb_config, duckdb_settings
from offerwall.bench.lower_bound import run_lower_bound

REPO = Path(__file__).resolve().parents[2]
DBT = str(Path(sys.executable).parent / "dbt")
SHOW = ("select current_setting('memory_limit') as memory_limit, current_setting('threads') as threads, "
        "current_setting('temp_directory') as temp_directory")


def as_duckdb_reports(settings: dict[str, str]) -> dict[str, object]:
    """The settings as DuckDB spells them back (e.g. '3GB' -> '2.7 GiB')."""
    with duckdb.connect(config={"memory_limit": settings["memory_limit"], "threads": settings["threads"]}) as con:
        memory, threads = con.execute("select current_setting('memory_limit'), current_setting('threads')").fetchone()
    return {"memory_limit": memory, "threads": threads, "temp_directory": settings["temp_directory"]}


def dbt_show(tmp_path: Path, extra_env: dict[str, str]) -> dict[str, object]:
    """The three settings as seen by a query dbt runs through the dev profile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "DUCKDB_"))}
    env.update({"DUCKDB_PATH": str(tmp_path / "wh.duckdb"), "DBT_PROFILES_DIR": str(REPO),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra_env})
    proc = subprocess.run(
        [DBT, "show", "--project-dir", str(REPO), "--target-path", str(tmp_path.parent / "target"),
         "--log-path", str(tmp_path / "logs"), "--inline", SHOW, "--output", "json", "--log-format", "text"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    body = proc.stdout[proc.stdout.index("{"):proc.stdout.rindex("}") + 1]
    return json.loads(body)["show"][0]


def test_the_dev_profile_applies_the_defaults_and_the_environment(tmp_path):
    (tmp_path / "default").mkdir()
    got = dbt_show(tmp_path / "default", {})
    default_db = tmp_path / "default" / "wh.duckdb"
    assert got == as_duckdb_reports(duckdb_settings(default_db, {})), got
    three_gb = as_duckdb_reports({"memory_limit": "3GB", "threads": "4", "temp_directory": ""})["memory_limit"]
    assert (got["memory_limit"], got["threads"], got["temp_directory"]) == (three_gb, 4, f"{default_db}.tmp")

    (tmp_path / "env").mkdir()
    env = {"DUCKDB_MEMORY_LIMIT": "700MB", "DUCKDB_THREADS": "1"}
    got = dbt_show(tmp_path / "env", env)
    assert got == as_duckdb_reports(duckdb_settings(tmp_path / "env" / "wh.duckdb", env)), got
    assert got["threads"] == 1
    assert got["memory_limit"] != as_duckdb_reports(duckdb_settings(default_db, {}))["memory_limit"]


def test_settings_from_environment_or_defaults():
    assert DUCKDB_DEFAULTS == {"DUCKDB_MEMORY_LIMIT": "3GB", "DUCKDB_THREADS": "4"}
    assert duckdb_settings("a/wh.duckdb", {}) == {"memory_limit": "3GB", "threads": "4",
                                                  "temp_directory": "a/wh.duckdb.tmp"}
    env = {"DUCKDB_MEMORY_LIMIT": "1GB", "DUCKDB_THREADS": "2"}
    assert duckdb_settings("a/wh.duckdb", env) == {"memory_limit": "1GB", "threads": "2",
                                                   "temp_directory": "a/wh.duckdb.tmp"}
    assert duckdb_config(env) == {"memory_limit": "1GB", "threads": "2"}
    # an empty variable means the default (as an unset one does)
    assert duckdb_settings("x", {"DUCKDB_MEMORY_LIMIT": ""})["memory_limit"] == "3GB"


def test_the_lower_bound_runs_with_the_same_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "600MB")
    monkeypatch.setenv("DUCKDB_THREADS", "1")
    db = tmp_path / "lb.duckdb"
    script = tmp_path / "lb.sql"
    script.write_text(f"create table seen as {SHOW};")
    run_lower_bound(str(db), str(script))
    with duckdb.connect(str(db), read_only=True) as con:
        memory, threads, temp = con.execute("select * from seen").fetchone()
    want = as_duckdb_reports(duckdb_settings(db))
    assert (memory, threads, temp) == (want["memory_limit"], 1, f"{db}.tmp")


def test_settings_are_set_again_after_a_spill_and_leave_other_connections_alone(tmp_path):
    """What dbt-duckdb does with `settings:` (SET on each new cursor) keeps working after DuckDB has
    spilled to its folder (SET temp_directory would fail then) and leaves the file open to another
    connection of the same process (a connect-time config would not)."""
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    plain = duckdb.connect(str(db))  # e.g. a test or an asset reading the warehouse in the same process
    first = con.cursor()
    for key, value in duckdb_config({"DUCKDB_MEMORY_LIMIT": "64MB", "DUCKDB_THREADS": "1"}).items():
        first.execute(f"set {key} = '{value}'")
    first.execute("set preserve_insertion_order = false")
    first.execute("create table big as select i, repeat('x', 200) || i as s from range(1500000) t(i)")
    first.execute("create table sorted as select * from big order by s desc")  # needs more than 64MB: spills
    assert Path(f"{db}.tmp").is_dir()  # DuckDB spilled, to its default folder
    with pytest.raises(duckdb.Error, match="temporary directory"):  # why the profile does not set it
        con.cursor().execute(f"set temp_directory = '{db}.tmp'")
    with pytest.raises(duckdb.Error, match="different configuration"):  # why not config_options
        duckdb.connect(str(db), config=duckdb_config())
    second = con.cursor()
    for key, value in duckdb_config({"DUCKDB_MEMORY_LIMIT": "64MB", "DUCKDB_THREADS": "1"}).items():
        second.execute(f"set {key} = '{value}'")
    assert second.execute("select count(*) from sorted").fetchone()[0] == 1_500_000
    assert plain.execute("select current_setting('temp_directory')").fetchone()[0] == f"{db}.tmp"
    con.close()
    plain.close()
