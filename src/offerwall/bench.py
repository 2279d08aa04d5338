"""``offerwall bench``: what the pipeline costs and how that grows with the data.

For each scale (a target number of ``raw.user_offers`` rows, e.g. ``100k,1m,10m``) the benchmark
works in its own folder ``<out>/<scale>/`` (own DuckDB file, own dbt target and log paths; never the
project's ``warehouse.duckdb`` or ``target/``) and measures, each step as a separate child process
so that its peak memory is its own:

1. ``generate``      ``offerwall generate`` of a source system of about that many completions;
2. ``lower_bound``   ``benchmarks/lower_bound.sql``: one hand-written DuckDB script computing
                     ``fct_task_completions``, ``fct_offer_daily_performance`` and ``fct_user_ltv``
                     straight from ``raw`` (no dbt) into schema ``lower_bound``;
3. ``full_build``    ``dbt build`` from scratch (models, snapshots, tests);
   then the lower bound's totals are checked against the dbt build's (same rows, same sums);
4. ``advance``       ``offerwall advance --days 1`` (one simulated day of new and changed rows);
5. ``incremental_build``  ``dbt build`` again (incremental models merge the new day);
6. ``lower_bound_after_day``  the lower bound on the advanced data, checked against the
                     incremental build's totals (incremental == from scratch).

Peak memory of a step is the larger of (a) the resident set of the child's whole process tree,
polled every ``POLL_SECONDS``, and (b) ``ru_maxrss`` of the child's descendants read by a small
wrapper process (``getrusage(RUSAGE_CHILDREN)``), which catches peaks shorter than a poll.

Output: a table on stdout, ``<out>/results.json`` and ``<out>/time_vs_rows.png`` (log-log time
vs rows per step). Figures come from one run on one machine: compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from offerwall import OfferwallError

# --- Scale -> generator flags ----------------------------------------------------------------------
# A scale is a number of raw.user_offers rows. The generator is driven by users and days; the days
# stay fixed (the generator engineer's reference run is `--users 1000000 --days 90` -> >= 10M rows)
# and users grow linearly with the scale: users = ceil(rows / rows_per_user). rows_per_user is
# measured at the start of every benchmark by a pilot `generate` of CALIBRATION_USERS users over
# SCALE_DAYS days with the same seed and rates (about a second), so the mapping follows the
# generator as it changes. The rows a scale really produced are counted and reported next to its
# target. See docs/benchmark.md, "Scale mapping".
SCALE_DAYS = 90
CALIBRATION_USERS = 5_000
MIN_USERS = 50
BAD_RATE = 0.01
FRAUD_RATE = 0.03

# --- Targets of issue 6 (at the largest scale, 10M rows, on the 2-core machine) ------------------
TARGET_GEN_ROWS_PER_S = 500_000
TARGET_FULL_OVER_LOWER_BOUND = 3.0
TARGET_INCREMENTAL_OVER_FULL = 0.15
TARGET_PEAK_BYTES = 4 * 1024**3

POLL_SECONDS = 0.05
TIMEOUT_RC = 124  # returncode of a step killed at the step timeout (as timeout(1))
LOWER_BOUND_SCHEMA = "lower_bound"
# The facts the lower bound recomputes: table name -> key columns (one row per key).
CHECKED_TABLES = ("fct_task_completions", "fct_offer_daily_performance", "fct_user_ltv")
# Relative tolerance of a sum comparison (floating point sums in a different order).
SUM_REL_TOL = 1e-9
SUM_ABS_TOL = 1e-6

# Columns of fct_task_completions that come from the task version valid at the completion, i.e.
# from snapshot history. raw holds only the current state of a task, so once a day of edits in
# place has been snapshotted the lower bound cannot know them: left out of the after-day check.
HISTORY_COLUMNS = {
    "fct_task_completions": ("offer_task_version_id", "task_type", "task_position", "has_amount_mismatch"),
}

STEP_ORDER = (
    "generate", "lower_bound", "dbt_parse", "full_build", "advance", "incremental_build", "lower_bound_after_day",
)

# Runs a command, then reports the peak RSS of its descendants (Linux ru_maxrss is in KiB).
_WRAPPER = r"""
import json, resource, subprocess, sys
cmd, cwd, log_path, rss_path = json.loads(sys.argv[1])
with open(log_path, "ab") as log:
    rc = subprocess.call(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
with open(rss_path, "w") as fh:
    json.dump({"rc": rc, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, fh)
sys.exit(rc)
"""


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def parse_scale(text: str) -> int:
    """'100k' -> 100_000, '1m' -> 1_000_000, '2.5M' -> 2_500_000, '5000' -> 5000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise OfferwallError(f"bad scale {text!r}: expected a row count such as 100k, 1m or 10m")
    number = float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    rows = int(round(number))
    if rows < 1:
        raise OfferwallError(f"bad scale {text!r}: must be at least 1 row")
    return rows


def parse_scales(text: str) -> list[tuple[str, int]]:
    labels = [part.strip() for part in text.split(",") if part.strip()]
    if not labels:
        raise OfferwallError("no scale given: pass --scales such as 100k,1m,10m")
    scales = [(label.lower(), parse_scale(label)) for label in labels]
    seen = [label for label, _ in scales]
    if len(set(seen)) != len(seen):
        raise OfferwallError(f"scale given twice in {text!r}")
    return scales


def generator_flags(rows: int, seed: int, rows_per_user: float) -> dict[str, int | float]:
    """The `offerwall generate` flags aiming at about `rows` raw.user_offers rows."""
    if rows_per_user <= 0:
        raise OfferwallError(f"calibration gave {rows_per_user} user_offers rows per user: generator broken?")
    users = max(MIN_USERS, math.ceil(rows / rows_per_user))
    return {"users": users, "days": SCALE_DAYS, "seed": seed, "bad_rate": BAD_RATE, "fraud_rate": FRAUD_RATE}


def _generate_cmd(flags: dict, db_path: Path) -> list[str]:
    return [
        sys.executable, "-m", "offerwall.cli", "generate",
        "--users", str(flags["users"]), "--days", str(flags["days"]), "--seed", str(flags["seed"]),
        "--bad-rate", str(flags["bad_rate"]), "--fraud-rate", str(flags["fraud_rate"]),
        "--duckdb", str(db_path),
    ]


def calibrate(out_dir: Path, seed: int, project: Path) -> dict:
    """Measure raw.user_offers rows per user: a pilot generate of CALIBRATION_USERS users."""
    work = out_dir / "calibration"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db_path = work / "warehouse.duckdb"
    flags = {"users": CALIBRATION_USERS, "days": SCALE_DAYS, "seed": seed, "bad_rate": BAD_RATE,
             "fraud_rate": FRAUD_RATE}
    res = run_step("calibration", _generate_cmd(flags, db_path), cwd=project, env=dict(os.environ),
                   log_path=work / "generate.log")
    if not res.ok:
        raise OfferwallError(f"calibration generate failed (exit {res.returncode}):\n{_tail(res.log)}")
    rows = raw_row_counts(db_path)["user_offers"]
    db_path.unlink()
    return {"users": CALIBRATION_USERS, "days": SCALE_DAYS, "user_offers": rows,
            "rows_per_user": rows / CALIBRATION_USERS}


def project_dir() -> Path:
    """The dbt project: $DBT_PROJECT_DIR, else the repository this package lives in."""
    explicit = os.environ.get("DBT_PROJECT_DIR")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(Path(__file__).resolve().parents[2])
    for path in candidates:
        if (path / "dbt_project.yml").is_file():
            return path.resolve()
    raise OfferwallError("dbt project not found: run from the repository or set DBT_PROJECT_DIR")


def lower_bound_sql_path(project: Path) -> Path:
    path = project / "benchmarks" / "lower_bound.sql"
    if not path.is_file():
        raise OfferwallError(f"lower bound script missing: {path}")
    return path


def project_vars(project: Path) -> dict:
    """The `vars` of the project's dbt_project.yml (the business constants)."""
    import yaml

    data = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    return dict(data.get("vars") or {})


def render_lower_bound(project: Path, out_path: Path) -> Path:
    """The lower-bound script with each {{ var('name') }} replaced by its dbt_project.yml value.

    The script is plain DuckDB SQL apart from those vars (and loops over list vars): rendering
    keeps it in step with the models' constants instead of repeating them as literals.
    """
    import jinja2

    values = project_vars(project)

    def var(name: str, default=None):
        if name in values:
            return values[name]
        if default is not None:
            return default
        raise OfferwallError(f"lower bound needs var {name!r}, not set in dbt_project.yml")

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    sql = env.from_string(lower_bound_sql_path(project).read_text()).render(var=var)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(sql)
    return out_path


def _tool(name: str) -> str:
    """An executable of the running virtualenv (dbt), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise OfferwallError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _fmt_mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024**2:.0f}"


def _fmt_ratio(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}%" if pct else f"{value:.2f}x"


def _fmt_rows(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1_000_000:
        return f"{value / 1e6:.2f}M"
    if value >= 1_000:
        return f"{value / 1e3:.1f}k"
    return str(value)


# --------------------------------------------------------------------------------------------------
# Measuring one step
# --------------------------------------------------------------------------------------------------


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


def _tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------------------
# Inspecting the warehouse between steps
# --------------------------------------------------------------------------------------------------


def raw_row_counts(db_path: Path) -> dict[str, int]:
    from offerwall.raw_io import RAW_SCHEMA, RAW_TABLES

    with duckdb.connect(str(db_path), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {RAW_SCHEMA}.{t}").fetchone()[0] for t in RAW_TABLES}


def _find_relation(con, table: str, exclude_schema: str) -> str | None:
    rows = con.execute(
        "select table_schema from information_schema.tables where table_name = ? and table_schema <> ? "
        "order by table_schema",
        [table, exclude_schema],
    ).fetchall()
    if len(rows) > 1:
        raise OfferwallError(f"{table} exists in several schemas ({', '.join(r[0] for r in rows)})")
    return f'"{rows[0][0]}"."{table}"' if rows else None


def _columns(con, relation_schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [relation_schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


_NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UBIGINT|UINTEGER|FLOAT|DOUBLE|REAL|DECIMAL.*)$")


def compare_totals(db_path: Path, skip_columns: dict[str, tuple[str, ...]] | None = None) -> dict:
    """Row counts and per-column totals of the lower bound's facts against the dbt build's.

    Every column the two tables share gets a total: numbers are summed, booleans counted as
    trues, anything else (text, timestamps, dates) summed as DuckDB hash() values, which
    compares the multiset of values. A table matches when the column sets, the row counts and
    every total agree (sums of numbers within SUM_REL_TOL). `skip_columns` names columns per
    table to leave out (reported as skipped), e.g. those that need snapshot history.
    """
    skip_columns = skip_columns or {}
    out: dict = {"ok": True, "tables": {}}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in CHECKED_TABLES:
            entry: dict = {"ok": False}
            out["tables"][table] = entry
            dbt_rel = _find_relation(con, table, LOWER_BOUND_SCHEMA)
            lb_rel = f'"{LOWER_BOUND_SCHEMA}"."{table}"'
            lb_exists = con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [LOWER_BOUND_SCHEMA, table],
            ).fetchone()[0]
            if dbt_rel is None or not lb_exists:
                missing = [name for name, gone in (("dbt model", dbt_rel is None), ("lower bound table", not lb_exists))
                           if gone]
                entry["error"] = "missing: " + " and ".join(missing)
                out["ok"] = False
                continue
            dbt_schema = dbt_rel.split(".")[0].strip('"')
            dbt_cols = _columns(con, dbt_schema, table)
            lb_cols = _columns(con, LOWER_BOUND_SCHEMA, table)
            skipped = [c for c in skip_columns.get(table, ()) if c in dbt_cols]
            entry["skipped_columns"] = skipped
            entry["columns_only_in_dbt"] = sorted(set(dbt_cols) - set(lb_cols))
            entry["columns_only_in_lower_bound"] = sorted(set(lb_cols) - set(dbt_cols))
            compared = [c for c in dbt_cols if c in lb_cols and c not in skipped]
            exprs = ["count(*)::double"]
            kinds = []
            for col in compared:
                dtype = dbt_cols[col].upper()
                if dtype == "BOOLEAN":
                    exprs.append(f'count(*) filter (where "{col}")::double')
                    kinds.append("number")
                elif _NUMERIC.match(dtype):
                    exprs.append(f'coalesce(sum("{col}"), 0)::double')
                    kinds.append("number")
                else:
                    exprs.append(f'coalesce(sum(hash("{col}")::hugeint), 0)::varchar')
                    kinds.append("hash")
            select = ", ".join(exprs)
            dbt_vals = con.execute(f"select {select} from {dbt_rel}").fetchone()
            lb_vals = con.execute(f"select {select} from {lb_rel}").fetchone()
            entry["relation"] = dbt_rel.replace('"', "")
            entry["rows"] = {"dbt": int(dbt_vals[0]), "lower_bound": int(lb_vals[0])}
            entry["sums"] = {}
            entry["hashes_equal"] = {}
            mismatches = []
            if dbt_vals[0] != lb_vals[0]:
                mismatches.append("row count")
            for col, kind, a, b in zip(compared, kinds, dbt_vals[1:], lb_vals[1:]):
                if kind == "number":
                    entry["sums"][col] = {"dbt": a, "lower_bound": b}
                    same = math.isclose(a, b, rel_tol=SUM_REL_TOL, abs_tol=SUM_ABS_TOL)
                else:
                    same = a == b
                    entry["hashes_equal"][col] = same
                if not same:
                    mismatches.append(col)
            if entry["columns_only_in_dbt"] or entry["columns_only_in_lower_bound"]:
                mismatches.append("column set")
            entry["mismatches"] = mismatches
            entry["ok"] = not mismatches
            out["ok"] = out["ok"] and entry["ok"]
    return out


def dbt_node_timings(run_results: Path, top: int = 8) -> list[dict]:
    """The slowest nodes of a dbt run from its run_results.json (execution seconds)."""
    if not run_results.is_file():
        return []
    data = json.loads(run_results.read_text())
    nodes = []
    for result in data.get("results", []):
        nodes.append(
            {
                "node": result.get("unique_id"),
                "status": result.get("status"),
                "seconds": round(float(result.get("execution_time") or 0.0), 3),
            }
        )
    nodes.sort(key=lambda n: n["seconds"], reverse=True)
    return nodes[:top]


def dbt_time_by_kind(run_results: Path) -> dict[str, float]:
    """Execution seconds summed per node kind (model, test, snapshot, seed, unit_test)."""
    if not run_results.is_file():
        return {}
    totals: dict[str, float] = {}
    for result in json.loads(run_results.read_text()).get("results", []):
        kind = str(result.get("unique_id", "?")).split(".")[0]
        totals[kind] = round(totals.get(kind, 0.0) + float(result.get("execution_time") or 0.0), 3)
    return totals


def dbt_failures(run_results: Path) -> list[str]:
    if not run_results.is_file():
        return []
    return [
        f"{r.get('unique_id')}: {r.get('status')}"
        for r in json.loads(run_results.read_text()).get("results", [])
        if r.get("status") in ("error", "fail")
    ]


# --------------------------------------------------------------------------------------------------
# One scale
# --------------------------------------------------------------------------------------------------


def _step_dict(step: StepResult | None) -> dict | None:
    if step is None:
        return None
    data = asdict(step)
    data["ok"] = step.ok
    data["peak_rss_mib"] = round(step.peak_rss_bytes / 1024**2, 1)
    return data


def bench_scale(
    label: str, rows: int, out_dir: Path, seed: int, project: Path, rows_per_user: float,
    dbt_args: tuple[str, ...] = (),
    step_timeout: float | None = None,
) -> dict:
    """All steps at one scale, in `<out_dir>/<label>/`; returns this scale's results."""
    work = out_dir / label
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    db_path = work / "warehouse.duckdb"
    flags = generator_flags(rows, seed, rows_per_user)
    env = dict(os.environ)
    env.update(
        {
            "DUCKDB_PATH": str(db_path),
            "DBT_PROFILES_DIR": str(project),
            "DBT_PROJECT_DIR": str(project),
            "DBT_LOG_PATH": str(work / "dbt-logs"),
            "DBT_TARGET": "dev",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DBT_TARGET_PATH", None)
    python = sys.executable
    dbt = _tool("dbt")
    lower_bound_sql = render_lower_bound(project, work / "lower_bound.rendered.sql")
    result: dict = {
        "label": label,
        "target_rows": rows,
        "generator_flags": flags,
        "workdir": str(work),
        "steps": {},
        "errors": [],
    }
    steps: dict[str, StepResult] = {}

    def step(name: str, cmd: list[str], extra_env: dict[str, str] | None = None) -> StepResult:
        step_env = dict(env, **(extra_env or {}))
        print(f"  [{label}] {name} ...", flush=True)
        res = run_step(name, cmd, cwd=project, env=step_env, log_path=work / f"{name}.log", timeout=step_timeout)
        steps[name] = res
        result["steps"][name] = _step_dict(res)
        status = "ok" if res.ok else f"FAILED (exit {res.returncode}, log {res.log})"
        if res.extra.get("timed_out"):
            status = f"TIMED OUT after {step_timeout:.0f}s (killed; log {res.log})"
        print(f"  [{label}] {name}: {res.wall_seconds:.1f}s, peak {_fmt_mib(res.peak_rss_bytes)} MiB, {status}",
              flush=True)
        if not res.ok:
            result["errors"].append(f"{name} failed (exit {res.returncode}); last lines of {res.log}:\n"
                                    + _tail(res.log))
        return res

    # One dbt target path per scale: `dbt_parse` writes the manifest once, both builds reuse it
    # (partial parsing), so a build's time is the pipeline's, not the parsing of the project.
    target = work / "target"

    def dbt_build(name: str) -> StepResult:
        res = step(name, [dbt, "build", "--target-path", str(target), *dbt_args], {"DBT_TARGET_PATH": str(target)})
        run_results = work / f"run_results-{name}.json"
        if (target / "run_results.json").is_file():
            shutil.copyfile(target / "run_results.json", run_results)
        res.extra["time_by_kind"] = dbt_time_by_kind(run_results)
        res.extra["slowest_nodes"] = dbt_node_timings(run_results)
        res.extra["failures"] = dbt_failures(run_results)
        res.extra["run_results"] = str(run_results)
        result["steps"][name] = _step_dict(res)
        return res

    def lower_bound(name: str) -> StepResult:
        return step(name, [python, "-m", "offerwall.bench", "lower-bound", str(db_path), str(lower_bound_sql)])

    # 1. generation
    gen = step("generate", _generate_cmd(flags, db_path))
    if not gen.ok:
        return result
    counts = raw_row_counts(db_path)
    result["raw_rows"] = counts
    result["rows"] = counts["user_offers"]
    gen.extra["user_offers_per_second"] = counts["user_offers"] / gen.wall_seconds
    gen.extra["raw_rows_per_second"] = sum(counts.values()) / gen.wall_seconds
    own = re.findall(r"\(([\d,]+) rows/s\)", Path(gen.log).read_text(errors="replace"))
    gen.extra["generator_reported_rows_per_second"] = int(own[-1].replace(",", "")) if own else None
    result["steps"]["generate"] = _step_dict(gen)

    # 2-3. lower bound, full build, same totals?
    lb = lower_bound("lower_bound")
    parse = step("dbt_parse", [dbt, "parse", "--target-path", str(target)], {"DBT_TARGET_PATH": str(target)})
    if not parse.ok:
        return result
    full = dbt_build("full_build")
    if lb.ok and full.ok:
        result["totals_check"] = compare_totals(db_path)
        if not result["totals_check"]["ok"]:
            result["errors"].append("lower bound and full dbt build disagree: "
                                    + _totals_summary(result["totals_check"]))
    if not full.ok:
        return result

    # 4-6. one more day, incremental build, lower bound again (incremental == from scratch?)
    before = counts
    adv = step("advance", [python, "-m", "offerwall.cli", "advance", "--days", "1", "--duckdb", str(db_path)])
    if not adv.ok:
        return result
    after = raw_row_counts(db_path)
    adv.extra["raw_rows_added"] = {t: after[t] - before[t] for t in after}
    result["steps"]["advance"] = _step_dict(adv)
    result["rows_after_day"] = after["user_offers"]
    incr = dbt_build("incremental_build")
    lb2 = lower_bound("lower_bound_after_day")
    if incr.ok and lb2.ok:
        result["totals_check_after_day"] = compare_totals(db_path, skip_columns=HISTORY_COLUMNS)
        if not result["totals_check_after_day"]["ok"]:
            result["errors"].append("after one day, lower bound and incremental build disagree: "
                                    + _totals_summary(result["totals_check_after_day"]))
    return result


def _totals_summary(check: dict) -> str:
    parts = []
    for table, entry in check["tables"].items():
        if entry.get("ok"):
            continue
        parts.append(f"{table}: {entry.get('error') or ', '.join(entry.get('mismatches', []))}")
    return "; ".join(parts)


def _ratios(scale: dict) -> dict:
    steps = scale["steps"]

    def wall(name: str) -> float | None:
        s = steps.get(name)
        return s["wall_seconds"] if s and s["ok"] else None

    def timed_out(name: str) -> float | None:
        s = steps.get(name)
        return s["wall_seconds"] if s and (s.get("extra") or {}).get("timed_out") else None

    full, lb, incr = wall("full_build"), wall("lower_bound"), wall("incremental_build")
    gen = steps.get("generate")
    peak = max((s["peak_rss_bytes"] for s in steps.values() if s), default=None)
    full_cut = timed_out("full_build")
    return {
        "generate_rows_per_second": gen["extra"].get("user_offers_per_second") if gen and gen["ok"] else None,
        "full_build_over_lower_bound": full / lb if full and lb else None,
        # a full build killed at the step timeout: the ratio is at least this
        "full_build_over_lower_bound_at_least": full_cut / lb if full_cut and lb else None,
        "incremental_over_full_build": incr / full if full and incr else None,
        "peak_rss_bytes": peak,
    }


def evaluate_targets(scale: dict) -> dict:
    r = scale["ratios"]
    checks = {
        "generate_rows_per_second >= 500k": (r["generate_rows_per_second"], TARGET_GEN_ROWS_PER_S, "ge"),
        "full_build / lower_bound <= 3x": (
            r["full_build_over_lower_bound"] or r.get("full_build_over_lower_bound_at_least"),
            TARGET_FULL_OVER_LOWER_BOUND, "le",
        ),
        "incremental / full_build <= 15%": (r["incremental_over_full_build"], TARGET_INCREMENTAL_OVER_FULL, "le"),
        "peak memory <= 4 GiB": (r["peak_rss_bytes"], TARGET_PEAK_BYTES, "le"),
    }
    out = {}
    for name, (value, target, op) in checks.items():
        met = None if value is None else (value >= target if op == "ge" else value <= target)
        out[name] = {"value": value, "target": target, "met": met}
    if r["full_build_over_lower_bound"] is None and r.get("full_build_over_lower_bound_at_least"):
        # only a lower bound of the ratio is known: it can prove a miss, never a hit
        entry = out["full_build / lower_bound <= 3x"]
        entry["value_is_at_least"] = True
        entry["met"] = False if entry["value"] > TARGET_FULL_OVER_LOWER_BOUND else None
    return out


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def format_table(scales: list[dict]) -> str:
    header = [
        "scale", "user_offers", "gen s", "gen rows/s", "gen MiB", "lower bnd s", "parse s", "full build s", "full MiB",
        "full/LB", "advance s", "incr build s", "incr/full", "incr MiB", "totals",
    ]
    rows = [header]
    for sc in scales:
        st = sc["steps"]
        ra = sc["ratios"]

        def w(name: str) -> str:
            return _fmt_seconds(st[name]["wall_seconds"]) if st.get(name) else "-"

        def m(name: str) -> str:
            return _fmt_mib(st[name]["peak_rss_bytes"]) if st.get(name) else "-"

        checks = [c for c in (sc.get("totals_check"), sc.get("totals_check_after_day")) if c is not None]
        totals = "-" if not checks else ("same" if all(c["ok"] for c in checks) else "DIFFER")
        gen_rate = ra["generate_rows_per_second"]
        rows.append([
            sc["label"], _fmt_rows(sc.get("rows")), w("generate"),
            "-" if gen_rate is None else f"{gen_rate / 1e3:.0f}k", m("generate"),
            w("lower_bound"), w("dbt_parse"), w("full_build"), m("full_build"),
            _fmt_ratio(ra["full_build_over_lower_bound"]) if not ra.get("full_build_over_lower_bound_at_least")
            else ">=" + _fmt_ratio(ra["full_build_over_lower_bound_at_least"]),
            w("advance"), w("incremental_build"), _fmt_ratio(ra["incremental_over_full_build"], pct=True),
            m("incremental_build"), totals,
        ])
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["  ".join(str(v).rjust(widths[i]) for i, v in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def plot(scales: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name in STEP_ORDER:
        xs, ys = [], []
        for sc in scales:
            s = sc["steps"].get(name)
            if s and s["ok"] and sc.get("rows"):
                xs.append(sc["rows"])
                ys.append(max(s["wall_seconds"], 1e-3))
        if xs:
            ax.plot(xs, ys, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("raw.user_offers rows")
    ax.set_ylabel("wall time (s)")
    ax.set_title("offerwall bench: time vs rows (log-log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _machine() -> dict:
    import psutil

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
    }


def run_bench(
    scales: str, out_dir: str, seed: int, *, dbt_args: tuple[str, ...] = (), step_timeout: float | None = None,
) -> dict:
    """Benchmark every scale; print the table, write results.json and time_vs_rows.png into out_dir.

    `dbt_args` are appended to both `dbt build` commands. The benchmark proper leaves it empty
    (the whole project, tests included, is what a morning build costs); the smoke test narrows
    the build to the three facts' lineage to stay fast. `step_timeout` (seconds) kills a step
    that runs longer and records it as timed out (the scale's later steps are then skipped).
    """
    if step_timeout is not None and step_timeout <= 0:
        raise OfferwallError(f"step timeout must be positive, got {step_timeout}")
    parsed = parse_scales(scales)
    project = project_dir()
    lower_bound_sql_path(project)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    calibration = calibrate(out, seed, project)
    rows_per_user = calibration["rows_per_user"]
    print(f"calibration: {calibration['user_offers']:,} user_offers rows from {CALIBRATION_USERS:,} users "
          f"x {SCALE_DAYS} days = {rows_per_user:.2f} rows per user", flush=True)
    results: dict = {
        "started_at": started.isoformat(timespec="seconds"),
        "seed": seed,
        "scale_mapping": {"days": SCALE_DAYS, "min_users": MIN_USERS, "bad_rate": BAD_RATE,
                          "fraud_rate": FRAUD_RATE, "calibration": calibration},
        "dbt_args": list(dbt_args),
        "step_timeout_seconds": step_timeout,
        "machine": _machine(),
        "scales": [],
    }
    json_path = out / "results.json"
    png_path = out / "time_vs_rows.png"
    for label, rows in parsed:
        print(f"scale {label}: about {rows:,} user_offers rows -> generate "
              f"--users {generator_flags(rows, seed, rows_per_user)['users']} --days {SCALE_DAYS}", flush=True)
        scale = bench_scale(label, rows, out, seed, project, rows_per_user, dbt_args=tuple(dbt_args),
                            step_timeout=step_timeout)
        scale["ratios"] = _ratios(scale)
        scale["targets"] = evaluate_targets(scale)
        results["scales"].append(scale)
        json_path.write_text(json.dumps(results, indent=2, default=str))
    results["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    json_path.write_text(json.dumps(results, indent=2, default=str))
    plot(results["scales"], png_path)
    print_report(results, json_path, png_path)
    errors = [f"{sc['label']}: {e}" for sc in results["scales"] for e in sc["errors"]]
    if errors:
        for e in errors:
            print(f"error at scale {e}", file=sys.stderr)
        raise OfferwallError(f"{len(errors)} benchmark step(s) failed or disagreed; see {json_path}")
    return results


def print_report(results: dict, json_path: Path, png_path: Path) -> None:
    print()
    print(format_table(results["scales"]))
    largest = results["scales"][-1]
    print(f"\ntargets at {largest['label']}:")
    for name, t in largest["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        print(f"  {name:34s} {verdict}")
    print(f"\nresults: {json_path}\nplot:    {png_path}")


def merge_results(paths: list[str], out_dir: str) -> dict:
    """One report from several runs' results.json (e.g. small scales, then 10m on its own).

    Scales keep their own run's figures (each from one run on one machine); sorted by rows.
    """
    runs = [json.loads(Path(p).read_text()) for p in paths]
    scales = sorted((sc for run in runs for sc in run["scales"]), key=lambda sc: sc.get("rows") or sc["target_rows"])
    merged = {"merged_from": [str(Path(p).resolve()) for p in paths], "runs": [
        {k: v for k, v in run.items() if k != "scales"} for run in runs
    ], "scales": scales}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "results.json", out / "time_vs_rows.png"
    json_path.write_text(json.dumps(merged, indent=2, default=str))
    plot(scales, png_path)
    print_report(merged, json_path, png_path)
    return merged


# --------------------------------------------------------------------------------------------------
# The lower-bound child step: `python -m offerwall.bench lower-bound <duckdb> <sql>`
# --------------------------------------------------------------------------------------------------


def run_lower_bound(db_path: str, sql_path: str) -> None:
    """Execute the hand-written lower-bound script against a DuckDB file (its raw schema)."""
    sql = Path(sql_path).read_text()
    with duckdb.connect(db_path) as con:
        con.execute(sql)


def profile_query(db_path: str, sql_path: str, top: int = 12) -> list[dict]:
    """Run one query (e.g. a dbt model's compiled SQL from target/compiled/) under DuckDB's
    profiler (the JSON form of EXPLAIN ANALYZE) and return its most expensive operators.

    The query runs as `create temp table ... as <sql>` on a read-only connection, so the file is
    not changed. Operator seconds are summed over threads.
    """
    import tempfile

    sql = Path(sql_path).read_text().strip().rstrip(";")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.json"
        with duckdb.connect(db_path, read_only=True) as con:
            con.execute("pragma enable_profiling = 'json'")
            con.execute(f"pragma profiling_output = '{out.as_posix()}'")
            started = time.perf_counter()
            con.execute(f"create temp table _profiled as {sql}")
            wall = time.perf_counter() - started
            con.execute("pragma disable_profiling")
        tree = json.loads(out.read_text())
    operators: list[dict] = []

    def walk(node: dict) -> None:
        extra = node.get("extra_info") or {}
        detail = {k: extra[k] for k in ("Projections", "Conditions", "Aggregates", "Table", "Join Type") if k in extra}
        operators.append({"operator": node.get("name"), "seconds": float(node.get("timing") or 0.0),
                          "rows": node.get("intermediate_rows"), "detail": str(detail)[:300]})
        for child in node.get("children", []):
            walk(child)

    for node in tree.get("operator", tree.get("children", [])):
        walk(node)
    total = sum(op["seconds"] for op in operators) or 1.0
    operators.sort(key=lambda op: op["seconds"], reverse=True)
    print(f"{Path(sql_path).name}: {wall:.1f} s wall, {total:.1f} s in operators")
    for op in operators[:top]:
        print(f"  {op['seconds']:7.2f} s {100 * op['seconds'] / total:5.1f}%  {op['operator']:<16} "
              f"rows={op['rows']}  {op['detail'][:150]}")
    return operators[:top]


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offerwall.bench")
    sub = parser.add_subparsers(dest="command", required=True)
    lb = sub.add_parser("lower-bound", help="run the lower-bound SQL script against a DuckDB file")
    lb.add_argument("duckdb")
    lb.add_argument("sql")
    merge = sub.add_parser("merge", help="one table, JSON and plot from several runs' results.json")
    merge.add_argument("results", nargs="+", help="results.json files")
    merge.add_argument("--out", required=True, help="folder for the merged results.json and plot")
    prof = sub.add_parser("profile", help="the most expensive operators of one query (DuckDB profiler)")
    prof.add_argument("duckdb", help="DuckDB file (opened read-only)")
    prof.add_argument("sql", help="a query, e.g. target/compiled/offerwall/models/.../model.sql")
    prof.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    if args.command == "profile":
        profile_query(args.duckdb, args.sql, args.top)
    elif args.command == "lower-bound":
        run_lower_bound(args.duckdb, args.sql)
    elif args.command == "merge":
        merge_results(args.results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
