"""Every step of the benchmark at one scale, in <out>/<scale>/, each one a child process:

1. generate: offerwall generate of a source system of about that many completions;
2. lower_bound: the hand-written lower-bound script (no dbt) into schema lower_bound;
3. dbt_parse, then full_build: dbt build from scratch (models, snapshots, tests); then the
   lower bound's totals are checked against the dbt build's (same rows, same sums);
4. advance: offerwall advance --days 1 (one simulated day of new and changed rows);
5. incremental_build: dbt build again as the daily run does (incremental models merge the new
   day; the big tables' tests read the day's slice: OFFERWALL_TEST_SCOPE=slice; no unit tests);
6. lower_bound_after_day: the lower bound on the advanced data, checked against the incremental
   build's totals (incremental == from scratch).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from offerwall import OfferwallError
from offerwall.bench.dbt_results import dbt_failures, dbt_node_timings, dbt_time_by_kind
from offerwall.bench.duckdb_settings import duckdb_settings
from offerwall.bench.lower_bound import (
    HISTORY_COLUMNS, compare_totals, lower_bound_cmd, render_lower_bound, totals_summary,
)
from offerwall.bench.formatting import fmt_mib
from offerwall.bench.scales import generate_cmd, generator_flags, raw_row_counts
from offerwall.bench.step_runner import StepResult, run_step, step_dict, tail
from offerwall.daily_run import DAILY_BUILD_ARGS, DAILY_TEST_SCOPE, FULL_TEST_SCOPE

STEP_ORDER = (
    "generate", "lower_bound", "dbt_parse", "full_build", "advance", "incremental_build", "lower_bound_after_day",
)


def project_dir() -> Path:
    """The dbt project: $DBT_PROJECT_DIR, else the checkout this package is installed from, else the
    current folder (a plain `pip install .` puts the package outside the repository)."""
    explicit = os.environ.get("DBT_PROJECT_DIR")
    candidates = [Path(explicit)] if explicit else []
    candidates += [Path(__file__).resolve().parents[3], Path.cwd()]
    for path in candidates:
        if (path / "dbt_project.yml").is_file():
            return path.resolve()
    raise OfferwallError("dbt project not found: run from the repository or set DBT_PROJECT_DIR")


def _tool(name: str) -> str:
    """An executable of the running virtualenv (dbt), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise OfferwallError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


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
        # what dbt-duckdb (profiles.yml) and the lower bound apply: the environment or the defaults
        "duckdb_settings": duckdb_settings(db_path, env),
        "steps": {},
        "errors": [],
    }
    steps: dict[str, StepResult] = {}

    def step(name: str, cmd: list[str], extra_env: dict[str, str] | None = None) -> StepResult:
        step_env = dict(env, **(extra_env or {}))
        print(f"  [{label}] {name} ...", flush=True)
        res = run_step(name, cmd, cwd=project, env=step_env, log_path=work / f"{name}.log", timeout=step_timeout)
        steps[name] = res
        result["steps"][name] = step_dict(res)
        status = "ok" if res.ok else f"FAILED (exit {res.returncode}, log {res.log})"
        if res.extra.get("timed_out"):
            status = f"TIMED OUT after {step_timeout:.0f}s (killed; log {res.log})"
        print(f"  [{label}] {name}: {res.wall_seconds:.1f}s, peak {fmt_mib(res.peak_rss_bytes)} MiB, {status}",
              flush=True)
        if not res.ok:
            result["errors"].append(f"{name} failed (exit {res.returncode}); last lines of {res.log}:\n"
                                    + tail(res.log))
        return res

    # One dbt target path per scale: `dbt_parse` writes the manifest once, both builds reuse it
    # (partial parsing), so a build's time is the pipeline's, not the parsing of the project.
    target = work / "target"

    def dbt_build(name: str, test_scope: str, daily: bool = False) -> StepResult:
        # test_scope: `full` (every test on every row) or `slice` (the daily run's: the big
        # tables' tests read the rows of the latest lookback window; docs/models.md). daily:
        # the daily run's command (DAILY_BUILD_ARGS: no unit tests, they test code, not data)
        extra = DAILY_BUILD_ARGS if daily else ()
        res = step(name, [dbt, "build", "--target-path", str(target), *extra, *dbt_args],
                   {"DBT_TARGET_PATH": str(target), "OFFERWALL_TEST_SCOPE": test_scope})
        res.extra["test_scope"] = test_scope
        run_results = work / f"run_results-{name}.json"
        if (target / "run_results.json").is_file():
            shutil.copyfile(target / "run_results.json", run_results)
        res.extra["time_by_kind"] = dbt_time_by_kind(run_results)
        res.extra["slowest_nodes"] = dbt_node_timings(run_results)
        res.extra["failures"] = dbt_failures(run_results)
        res.extra["run_results"] = str(run_results)
        result["steps"][name] = step_dict(res)
        return res

    def lower_bound(name: str) -> StepResult:
        return step(name, lower_bound_cmd(db_path, lower_bound_sql))

    # 1. generation
    gen = step("generate", generate_cmd(flags, db_path))
    if not gen.ok:
        return result
    counts = raw_row_counts(db_path)
    result["raw_rows"] = counts
    result["rows"] = counts["user_offers"]
    gen.extra["user_offers_per_second"] = counts["user_offers"] / gen.wall_seconds
    gen.extra["raw_rows_per_second"] = sum(counts.values()) / gen.wall_seconds
    own = re.findall(r"\(([\d,]+) rows/s\)", Path(gen.log).read_text(errors="replace"))
    gen.extra["generator_reported_rows_per_second"] = int(own[-1].replace(",", "")) if own else None
    result["steps"]["generate"] = step_dict(gen)

    # 2-3. lower bound, full build, same totals?
    lb = lower_bound("lower_bound")
    parse = step("dbt_parse", [dbt, "parse", "--target-path", str(target)], {"DBT_TARGET_PATH": str(target)})
    if not parse.ok:
        return result
    full = dbt_build("full_build", FULL_TEST_SCOPE)
    if lb.ok and full.ok:
        result["totals_check"] = compare_totals(db_path)
        if not result["totals_check"]["ok"]:
            result["errors"].append("lower bound and full dbt build disagree: "
                                    + totals_summary(result["totals_check"]))
    if not full.ok:
        return result

    # 4-6. one more day, incremental build, lower bound again (incremental == from scratch?)
    before = counts
    adv = step("advance", [python, "-m", "offerwall.cli", "advance", "--days", "1", "--duckdb", str(db_path)])
    if not adv.ok:
        return result
    after = raw_row_counts(db_path)
    adv.extra["raw_rows_added"] = {t: after[t] - before[t] for t in after}
    result["steps"]["advance"] = step_dict(adv)
    result["rows_after_day"] = after["user_offers"]
    incr = dbt_build("incremental_build", DAILY_TEST_SCOPE, daily=True)
    lb2 = lower_bound("lower_bound_after_day")
    if incr.ok and lb2.ok:
        result["totals_check_after_day"] = compare_totals(db_path, skip_columns=HISTORY_COLUMNS)
        if not result["totals_check_after_day"]["ok"]:
            result["errors"].append("after one day, lower bound and incremental build disagree: "
                                    + totals_summary(result["totals_check_after_day"]))
    return result
