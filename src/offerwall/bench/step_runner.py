"""One benchmark step as a child process: its wall time and its peak memory.

Peak memory of a step is the larger of (a) the resident set of the child's whole process tree,
polled every POLL_SECONDS, and (b) ru_maxrss of the child's descendants read by a small wrapper
process (getrusage(RUSAGE_CHILDREN)), which catches peaks shorter than a poll. psutil (the bench
extra) is imported only here, when a step runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

POLL_SECONDS = 0.05
TIMEOUT_RC = 124  # returncode of a step killed at the step timeout (as timeout(1))

# Runs a command, then reports the peak RSS of its descendants (Linux ru_maxrss is in KiB). The
# report is written whole or not at all (a step killed at its timeout kills the wrapper too, maybe
# while it writes: an empty report once failed a test).
_WRAPPER = r"""
import json, os, resource, subprocess, sys
cmd, cwd, log_path, rss_path = json.loads(sys.argv[1])
with open(log_path, "ab") as log:
    rc = subprocess.call(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
with open(rss_path + ".part", "w") as fh:
    json.dump({"rc": rc, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, fh)
os.replace(rss_path + ".part", rss_path)
sys.exit(rc)
"""


@dataclass
class StepResult:
    name: str
    command: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    peak_tree_rss_bytes: int
    maxrss_descendant_bytes: int
    log: str
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _tree_rss(proc) -> int:
    """Sum of RSS over a psutil process and all its descendants (0 for those already gone)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kill_tree(pid: int) -> None:
    """Kill the process `pid` started and all its descendants (by pid, children first)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_step(
    name: str, cmd: list[str], *, cwd: Path, env: dict[str, str], log_path: Path, timeout: float | None = None,
) -> StepResult:
    """Run `cmd` as a child (through the rusage wrapper); wall time and peak memory of its tree.

    With `timeout` (seconds) a step still running then is killed (its whole process tree) and
    reported with returncode TIMEOUT_RC and `extra["timed_out"]`; its wall time is the timeout.
    """
    import psutil

    rss_path = log_path.with_suffix(".rss.json")
    rss_path.unlink(missing_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(f"$ {' '.join(cmd)}\n")
    payload = json.dumps([cmd, str(cwd), str(log_path), str(rss_path)])
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", _WRAPPER, payload], cwd=cwd, env=env)
    peak_tree = 0
    timed_out = False
    try:
        watched = psutil.Process(child.pid)
        while child.poll() is None:
            peak_tree = max(peak_tree, _tree_rss(watched))
            if timeout is not None and time.perf_counter() - start > timeout:
                timed_out = True
                _kill_tree(child.pid)
                break
            time.sleep(POLL_SECONDS)
    except psutil.NoSuchProcess:
        pass
    except BaseException:
        _kill_tree(child.pid)
        child.wait()
        raise
    returncode = child.wait()
    wall = time.perf_counter() - start
    maxrss = 0
    Path(str(rss_path) + ".part").unlink(missing_ok=True)
    if rss_path.exists():
        report = json.loads(rss_path.read_text())
        maxrss = int(report["maxrss_kib"]) * 1024
        returncode = int(report["rc"])
    if timed_out:
        returncode = TIMEOUT_RC
        with open(log_path, "a") as log:
            log.write(f"\n[offerwall bench] killed after the step timeout of {timeout:.0f} s\n")
    return StepResult(
        name=name,
        command=cmd,
        returncode=returncode,
        wall_seconds=wall,
        peak_rss_bytes=max(peak_tree, maxrss),
        peak_tree_rss_bytes=peak_tree,
        maxrss_descendant_bytes=maxrss,
        log=str(log_path),
        extra={"timed_out": True} if timed_out else {},
    )


def tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def step_dict(step: StepResult | None) -> dict | None:
    """A step's result as JSON-ready data (for results.json)."""
    if step is None:
        return None
    data = asdict(step)
    data["ok"] = step.ok
    data["peak_rss_mib"] = round(step.peak_rss_bytes / 1024**2, 1)
    return data
