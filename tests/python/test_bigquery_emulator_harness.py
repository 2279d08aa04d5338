"""The emulator harness: starts on a free port, answers, stops by PID; a broken one fails clearly."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from offerwall import OfferwallError
from emulator_process import find_crucible, start_emulator


pytestmark = pytest.mark.emulator


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_start_answers_and_stop_ends_the_process(tmp_path):
    emu = start_emulator(tmp_path)
    try:
        assert emu.is_healthy()
        assert emu.process.poll() is None
        assert emu.env()["BIGQUERY_EMULATOR_HOST"] == f"http://127.0.0.1:{emu.port}"
        other = start_emulator(tmp_path)  # a second one never collides with the first
        try:
            assert other.port != emu.port and other.is_healthy()
        finally:
            other.stop()
    finally:
        emu.stop()
    assert emu.process.returncode is not None
    assert not port_open(emu.port)
    emu.stop()  # stopping twice is harmless


def test_an_emulator_that_dies_is_a_clear_error(tmp_path):
    broken = tmp_path / "crucible"
    broken.write_text("#!/bin/sh\necho 'port already in use' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(OfferwallError, match=r"(?s)exited with code 3 before answering.*port already in use"):
        start_emulator(tmp_path / "logs", crucible=broken, ready_timeout=10)


def test_missing_emulator_names_the_make_target(tmp_path, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_BIN", str(tmp_path / "nope"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("emulator_process.repo_root", lambda: Path(tmp_path))
    with pytest.raises(OfferwallError, match="make emulator"):
        find_crucible()
