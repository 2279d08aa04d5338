"""Helpers for the Dagster tests: settings over a test warehouse, runs in-process, a captured
webhook, a DuckDB lock held by this process, and a run's step timeline.

One DuckDB path for every test warehouse: dbt re-parses the whole project (a minute or more on a
busy machine) when its profile changes, and the DuckDB path is part of the profile. So the dbt
commands see DUCKDB_PATH = `<project>/../live/wh.duckdb`, a symlink pointed at the warehouse
of the run (`environ`); the Settings resolve it to the real file (landing, freshness).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dbt_harness import DB_FILE, Warehouse

TODAY = dt.datetime.now(dt.timezone.utc).date()
# The generated warehouse ends 10 days ago: its next days are valid partitions whatever today is.
START = TODAY - dt.timedelta(days=30)
GEN = {"users": 500, "days": 20, "seed": 42, "bad_rate": 0.01, "fraud_rate": 0.03, "start": START.isoformat()}
D1 = (START + dt.timedelta(days=20)).isoformat()
D2 = (START + dt.timedelta(days=21)).isoformat()


LIVE_TARGET = "OFFERWALL_TEST_WAREHOUSE"  # the real file the live link must point at (tests only)


def live_path(project: Path) -> Path:
    return project.parent / "live" / DB_FILE


def point_live(link: Path, target: Path) -> None:
    """Point the live link at `target` (DuckDB follows it: the WAL and the lock are the real file's)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def settings_env(project: Path, wh: Warehouse, **extra: str) -> dict[str, str]:
    link = live_path(project)
    point_live(link, wh.db)
    env = {
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "DUCKDB_PATH": str(link),
        LIVE_TARGET: str(wh.db),
        "OFFERWALL_PARTITIONS_START": (START - dt.timedelta(days=30)).isoformat(),
        "OFFERWALL_RETRY_MAX": "2",
        "OFFERWALL_RETRY_DELAY_SECONDS": "0.5",
    }
    env.update(extra)
    return env


@contextlib.contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """The dbt subprocesses read DUCKDB_PATH (profiles.yml) from the environment, as in production."""
    if LIVE_TARGET in values:
        point_live(Path(values["DUCKDB_PATH"]), Path(values[LIVE_TARGET]))
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith("DBT_")]:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def clock(wh: Warehouse) -> dt.datetime:
    return wh.scalar("select clock from sim.state")


class Webhook:
    """A local HTTP endpoint that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DuckDBLock:
    """Another process holding a read-write connection: nobody else can open the file until release()."""

    def __init__(self, path: Path) -> None:
        code = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"
        self.proc: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc is not None:
            self.proc.communicate(timeout=60)  # closes stdin: the holder exits, the lock goes with it
            self.proc = None


def events(result: Any, kind: str) -> list[Any]:
    return [e for e in result.all_events if e.event_type_value == kind]


def materialized_keys(result: Any) -> set[str]:
    return {e.asset_key.to_user_string() for e in events(result, "ASSET_MATERIALIZATION")}


def timeline(instance: Any, run_id: str) -> list[tuple[str, float, float]]:
    """(step, seconds after the run started, duration) of each step of a run, from its event log."""
    start: dict[str, float] = {}
    out = []
    records = instance.all_logs(run_id)
    t0 = min(r.timestamp for r in records)
    for r in records:
        ev = r.dagster_event
        if ev is None or ev.step_key is None:
            continue
        if ev.event_type_value == "STEP_START":
            start[ev.step_key] = r.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY") and ev.step_key in start:
            out.append((f"{ev.step_key} ({ev.event_type_value.lower()})", start[ev.step_key] - t0,
                        r.timestamp - start.pop(ev.step_key)))
    return out
