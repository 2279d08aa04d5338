"""run_bench: the whole benchmark (calibration, then every scale), its results.json and plot."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

import duckdb

from offerwall import OfferwallError
from offerwall.bench.lower_bound import lower_bound_sql_path
from offerwall.bench.duckdb_settings import duckdb_settings
from offerwall.bench.report import plot, print_report
from offerwall.bench.scale_run import bench_scale, project_dir
from offerwall.bench.scales import (
    BAD_RATE, CALIBRATION_USERS, FRAUD_RATE, MIN_USERS, SCALE_DAYS, calibrate, generator_flags, parse_scales,
)
from offerwall.bench.targets import evaluate_targets, ratios
from offerwall.extras import require


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
    require("bench", "psutil", "matplotlib")
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
        # memory limit and threads of DuckDB in the dbt builds and the lower bound (spill folder: per scale)
        "duckdb_settings": {k: v for k, v in duckdb_settings("warehouse.duckdb").items() if k != "temp_directory"},
        "scales": [],
    }
    json_path = out / "results.json"
    png_path = out / "time_vs_rows.png"
    for label, rows in parsed:
        print(f"scale {label}: about {rows:,} user_offers rows -> generate "
              f"--users {generator_flags(rows, seed, rows_per_user)['users']} --days {SCALE_DAYS}", flush=True)
        scale = bench_scale(label, rows, out, seed, project, rows_per_user, dbt_args=tuple(dbt_args),
                            step_timeout=step_timeout)
        scale["ratios"] = ratios(scale)
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
