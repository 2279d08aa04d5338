"""offerwall bench: what the pipeline costs and how that grows with the data.

For each scale (a target number of raw.user_offers rows, e.g. 100k,1m,10m) the benchmark works
in its own folder <out>/<scale>/ (own DuckDB file, own dbt target and log paths; never the
project's warehouse.duckdb or target/) and runs each step as a separate child process, so that
its peak memory is its own: generate, lower_bound, dbt_parse, full_build, advance,
incremental_build, lower_bound_after_day. See docs/benchmark.md.

The modules, one concern each:

- scales: a scale label -> generator flags, and the calibration that measures rows per user;
- step_runner: one step as a child process, its wall time and peak memory;
- lower_bound: the hand-written DuckDB script and the totals check against the dbt build;
- dbt_results: what a dbt build's run_results.json says (time per node kind, slowest nodes);
- scale_run: every step at one scale;
- targets: the ratios of a scale and the issue 6 targets;
- report: the table, the plot and the merge of several runs;
- runner: run_bench, the whole benchmark;
- query_profile: DuckDB's profiler on one query.

The measuring needs psutil and matplotlib, installed by the bench extra
(pip install 'offerwall-warehouse[bench]'); they are imported only when used.
"""

from offerwall.bench.dbt_results import dbt_failures, dbt_node_timings, dbt_time_by_kind
from offerwall.bench.lower_bound import (
    CHECKED_TABLES, HISTORY_COLUMNS, LOWER_BOUND_SCHEMA, compare_totals, render_lower_bound, run_lower_bound,
)
from offerwall.bench.query_profile import profile_query
from offerwall.bench.report import format_table, merge_results, plot
from offerwall.bench.runner import run_bench
from offerwall.bench.scale_run import STEP_ORDER, bench_scale
from offerwall.bench.scales import (
    MIN_USERS, SCALE_DAYS, calibrate, generator_flags, parse_scale, parse_scales, raw_row_counts,
)
from offerwall.bench.step_runner import TIMEOUT_RC, StepResult, run_step
from offerwall.bench.targets import evaluate_targets, ratios

__all__ = [
    "CHECKED_TABLES", "HISTORY_COLUMNS", "LOWER_BOUND_SCHEMA", "MIN_USERS", "SCALE_DAYS", "STEP_ORDER", "TIMEOUT_RC",
    "StepResult", "bench_scale", "calibrate", "compare_totals", "dbt_failures", "dbt_node_timings",
    "dbt_time_by_kind", "evaluate_targets", "format_table", "generator_flags", "merge_results", "parse_scale",
    "parse_scales", "plot", "profile_query", "ratios", "raw_row_counts", "render_lower_bound", "run_bench",
    "run_lower_bound", "run_step",
]
