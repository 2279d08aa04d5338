"""Test infrastructure: start and stop the local BigQuery-API emulator (crucible) that CI runs the
BigQuery path on. It is not part of the installed offerwall package.

The emulator lives in its own virtualenv (.venv-emulator, made by `make emulator`) because it
pins its own duckdb and sqlglot. This module only starts its `crucible` executable as a child
process on 127.0.0.1, waits until the health endpoint answers, and stops exactly that process by
its PID. Nothing here talks to Google.

    with running_emulator() as emu:
        os.environ.update(emu.env())     # BIGQUERY_EMULATOR_HOST, BQ_EMULATOR_ENDPOINT
        ...                              # offerwall load-bigquery, dbt --target bigquery_emulator
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from offerwall import OfferwallError

HOST = "127.0.0.1"
HEALTH_PATH = "/_crucible/health"
# Where `make emulator` installs it, relative to the repository root.
DEFAULT_VENV = ".venv-emulator"
# The project id every emulator run uses (the emulator has no IAM; any id works).
EMULATOR_PROJECT = "offerwall-ci"


def repo_root() -> Path:
    """The repository root (this file is tests/python/emulator_process.py)."""
    return Path(__file__).resolve().parents[2]


def find_crucible() -> Path:
    """The crucible executable: $CRUCIBLE_BIN, else <repo>/.venv-emulator/bin/crucible, else PATH."""
    explicit = os.environ.get("CRUCIBLE_BIN")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(repo_root() / DEFAULT_VENV / "bin" / "crucible")
    on_path = shutil.which("crucible")
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise OfferwallError(
        "BigQuery emulator not installed: run `make emulator` (creates .venv-emulator) "
        "or set CRUCIBLE_BIN to a crucible executable"
    )


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (e.g. a killed test run), so
    an emulator never outlives the process that started it (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Emulator:
    """One running emulator process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    host: str = HOST
    project: str = EMULATOR_PROJECT
    _stopped: bool = field(default=False, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def env(self) -> dict[str, str]:
        """Environment variables that point the loader and the `bigquery_emulator` dbt target here."""
        return {
            "BIGQUERY_EMULATOR_HOST": self.endpoint,
            "BQ_EMULATOR_ENDPOINT": self.endpoint,
            "BQ_EMULATOR_PROJECT": self.project,
        }

    def is_healthy(self, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint + HEALTH_PATH, timeout=timeout) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this process (by its PID only): SIGTERM, then SIGKILL after `timeout` seconds."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def start_emulator(
    log_dir: str | Path,
    port: int | None = None,
    ready_timeout: float = 60.0,
    crucible: Path | None = None,
) -> Emulator:
    """Start `crucible serve --dialect bigquery` on 127.0.0.1 and return once it answers.

    `port=None` picks a free port (retrying a few times if another process takes it first).
    Raises OfferwallError with the tail of the emulator's log when it does not come up.
    """
    exe = crucible or find_crucible()
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    attempts = 1 if port is not None else 3
    last_error = ""
    for attempt in range(attempts):
        chosen = port if port is not None else free_port()
        log_path = log_dir / f"crucible-{chosen}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(exe), "serve", "--dialect", "bigquery", "--host", HOST, "--port", str(chosen)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        emu = Emulator(port=chosen, process=process, log_path=log_path)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if emu.is_healthy(timeout=1.0):
                return emu
            time.sleep(0.2)
        exited = process.poll()
        emu.stop()
        what = (
            f"exited with code {exited} before answering"
            if exited is not None
            else f"did not answer within {ready_timeout:.0f}s"
        )
        last_error = (
            f"BigQuery emulator on port {chosen} {what} (attempt {attempt + 1} of {attempts}); "
            f"log:\n{emu.log_tail()}"
        )
    raise OfferwallError(last_error)


@contextlib.contextmanager
def running_emulator(log_dir: str | Path, port: int | None = None) -> Iterator[Emulator]:
    """Context manager: an emulator for the block, stopped by PID afterwards (also on error)."""
    emu = start_emulator(log_dir, port=port)
    try:
        yield emu
    finally:
        emu.stop()
