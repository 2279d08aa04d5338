"""`offerwall bench`: its measuring parts, its totals check, and one smoke run at a tiny scale.

The real benchmark (100k, 1m, 10m rows) is not part of `make test`; see docs/benchmark.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
import pytest

from offerwall import OfferwallError
from offerwall import bench
from offerwall.bench.duckdb_settings import duckdb_settings
from offerwall.cli import main as cli_main

SMOKE_SCALE = "3k"  # ~3,000 user_offers rows: every step runs, all in well under a minute
# The smoke run builds only the three facts' lineage, without dbt tests (the dbt tests have their
# own pytest files); the benchmark proper builds the whole project.
SMOKE_DBT_ARGS = (
    "--select", "+fct_task_completions +fct_offer_daily_performance +fct_user_ltv",
    "--exclude-resource-type", "test", "unit_test",
)


# --- scales ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rows"),
    [("100k", 100_000), ("1m", 1_000_000), ("10M", 10_000_000), ("2.5m", 2_500_000), ("5000", 5000), (" 3K ", 3000)],
)
def test_parse_scale(text: str, rows: int) -> None:
    assert bench.parse_scale(text) == rows


@pytest.mark.parametrize("text", ["", "ten", "1g", "-5k", "0", "1.5.2m"])
def test_parse_scale_rejects_bad_input(text: str) -> None:
    with pytest.raises(OfferwallError, match="scale"):
        bench.parse_scale(text)


def test_parse_scales_rejects_duplicates_and_empty() -> None:
    assert bench.parse_scales("100k, 1m") == [("100k", 100_000), ("1m", 1_000_000)]
    with pytest.raises(OfferwallError, match="twice"):
        bench.parse_scales("1m,1m")
    with pytest.raises(OfferwallError, match="no scale"):
        bench.parse_scales(" , ")


def test_generator_flags_scale_users_linearly_at_fixed_days() -> None:
    small = bench.generator_flags(100_000, seed=7, rows_per_user=20.0)
    large = bench.generator_flags(10_000_000, seed=7, rows_per_user=20.0)
    assert small["days"] == large["days"] == bench.SCALE_DAYS
    assert small["users"] == 5_000 and large["users"] == 500_000
    assert bench.generator_flags(1, seed=7, rows_per_user=20.0)["users"] == bench.MIN_USERS
    with pytest.raises(OfferwallError, match="calibration"):
        bench.generator_flags(1000, seed=7, rows_per_user=0.0)


def test_cli_rejects_bad_scale_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--scales", "lots", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad scale 'lots'" in err


# --- measuring -----------------------------------------------------------------------------------------


def test_run_step_measures_wall_time_and_peak_memory_of_the_child(tmp_path: Path) -> None:
    # The child holds ~300 MiB for a moment: both the tree poll and ru_maxrss must see it.
    code = "import time; b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"
    res = bench.run_step("alloc", [sys.executable, "-c", code], cwd=tmp_path, env={}, log_path=tmp_path / "a.log")
    assert res.ok
    assert res.wall_seconds >= 0.5
    assert res.maxrss_descendant_bytes >= 300 * 1024**2
    assert res.peak_tree_rss_bytes >= 300 * 1024**2
    assert res.peak_rss_bytes < 2 * 1024**3


def test_run_step_reports_failure_and_keeps_the_log(tmp_path: Path) -> None:
    code = "import sys; print('boom on stdout'); sys.exit(3)"
    res = bench.run_step("fail", [sys.executable, "-c", code], cwd=tmp_path, env={}, log_path=tmp_path / "f.log")
    assert not res.ok and res.returncode == 3
    assert "boom on stdout" in Path(res.log).read_text()


# --- totals check ------------------------------------------------------------------------------------------


def _facts(con: duckdb.DuckDBPyConnection, schema: str, margin_bump: float = 0.0, extra_row: bool = False) -> None:
    con.execute(f"create schema if not exists {schema}")
    con.execute(
        f"create table {schema}.fct_task_completions as select * from (values "
        f"(1, 'credited', 2.5, 1.0 + {margin_bump}, true), (2, 'rejected', 0.0, 0.0, false)"
        + (", (3, 'pending', 0.0, 0.0, false)" if extra_row else "")
        + ") t(completion_id, status, revenue_usd, margin_usd, is_reversed)"
    )
    con.execute(f"create table {schema}.fct_offer_daily_performance as select 7 as offer_id, 2.5 as revenue_usd")
    con.execute(f"create table {schema}.fct_user_ltv as select 'u1' as user_id, 1.0 as margin_usd_to_date")


def test_compare_totals_agrees_on_equal_facts(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        _facts(con, "dev_marts_core")
        _facts(con, bench.LOWER_BOUND_SCHEMA)
    check = bench.compare_totals(db)
    assert check["ok"], check
    tc = check["tables"]["fct_task_completions"]
    assert tc["rows"] == {"dbt": 2, "lower_bound": 2}
    assert tc["sums"]["revenue_usd"] == {"dbt": 2.5, "lower_bound": 2.5}
    assert tc["sums"]["is_reversed"] == {"dbt": 1.0, "lower_bound": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "mismatch"),
    [({"margin_bump": 0.01}, "margin_usd"), ({"extra_row": True}, "row count")],
)
def test_compare_totals_names_what_differs(tmp_path: Path, kwargs: dict, mismatch: str) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        _facts(con, "dev_marts_core")
        _facts(con, bench.LOWER_BOUND_SCHEMA, **kwargs)
    check = bench.compare_totals(db)
    assert not check["ok"]
    assert mismatch in check["tables"]["fct_task_completions"]["mismatches"]
    assert check["tables"]["fct_user_ltv"]["ok"]


def test_compare_totals_compares_text_columns_by_hash_and_can_skip_columns(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        _facts(con, "dev_marts_core")
        _facts(con, bench.LOWER_BOUND_SCHEMA)
        con.execute(f"update {bench.LOWER_BOUND_SCHEMA}.fct_task_completions set status = 'pending' "
                    "where completion_id = 2")
    check = bench.compare_totals(db)
    assert check["tables"]["fct_task_completions"]["mismatches"] == ["status"]
    assert check["tables"]["fct_task_completions"]["hashes_equal"]["status"] is False
    skipped = bench.compare_totals(db, skip_columns={"fct_task_completions": ("status",)})
    assert skipped["ok"] and skipped["tables"]["fct_task_completions"]["skipped_columns"] == ["status"]


def test_compare_totals_flags_a_missing_table_and_column(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        _facts(con, "dev_marts_core")
        _facts(con, bench.LOWER_BOUND_SCHEMA)
        con.execute(f"drop table {bench.LOWER_BOUND_SCHEMA}.fct_user_ltv")
        con.execute(f"alter table {bench.LOWER_BOUND_SCHEMA}.fct_offer_daily_performance add column extra int")
    check = bench.compare_totals(db)
    assert not check["ok"]
    assert "lower bound table" in check["tables"]["fct_user_ltv"]["error"]
    assert check["tables"]["fct_offer_daily_performance"]["columns_only_in_lower_bound"] == ["extra"]


def test_compare_totals_leaves_out_the_columns_beyond_the_lower_bound(tmp_path: Path) -> None:
    # expected margin (issue 11) is only in the dbt fact: not a column-set mismatch
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        _facts(con, "dev_marts_core")
        _facts(con, bench.LOWER_BOUND_SCHEMA)
        con.execute("alter table dev_marts_core.fct_offer_daily_performance add column expected_margin_usd double")
        con.execute("alter table dev_marts_core.fct_offer_daily_performance add column other_extra double")
    check = bench.compare_totals(db)
    entry = check["tables"]["fct_offer_daily_performance"]
    assert "expected_margin_usd" in entry["out_of_scope_columns"]
    assert entry["columns_only_in_dbt"] == ["other_extra"] and not check["ok"]
    with duckdb.connect(str(db)) as con:
        con.execute("alter table dev_marts_core.fct_offer_daily_performance drop column other_extra")
    assert bench.compare_totals(db)["ok"]


def test_lower_bound_script_takes_the_project_vars(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "benchmarks").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\nvars:\n  coins_per_usd: 1000\n  horizons: [7, 30]\n")
    (project / "benchmarks" / "lower_bound.sql").write_text(
        "select 5000 / {{ var('coins_per_usd') }}{% for h in var('horizons') %}, {{ h }}{% endfor %};\n"
    )
    rendered = bench.render_lower_bound(project, tmp_path / "out.sql").read_text()
    assert rendered == "select 5000 / 1000, 7, 30;\n"
    (project / "benchmarks" / "lower_bound.sql").write_text("select {{ var('missing_var') }}")
    with pytest.raises(OfferwallError, match="missing_var"):
        bench.render_lower_bound(project, tmp_path / "out.sql")


def test_run_step_kills_a_step_at_its_timeout(tmp_path: Path) -> None:
    # A step that would sleep a minute, with a grandchild: both must be gone after the timeout.
    code = ("import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)")
    started = time.perf_counter()
    res = bench.run_step("slow", [sys.executable, "-c", code], cwd=tmp_path, env={}, log_path=tmp_path / "s.log",
                         timeout=1.0)
    assert time.perf_counter() - started < 15
    assert res.returncode == bench.TIMEOUT_RC and res.extra == {"timed_out": True} and not res.ok
    assert "step timeout" in Path(res.log).read_text()


# --- the smoke run ------------------------------------------------------------------------------------------


def test_bench_smoke_run_at_a_tiny_scale(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    started = time.perf_counter()
    results = bench.run_bench(scales=SMOKE_SCALE, out_dir=str(out), seed=11, dbt_args=SMOKE_DBT_ARGS)
    elapsed = time.perf_counter() - started

    saved = json.loads((out / "results.json").read_text())
    assert saved["seed"] == 11 and len(saved["scales"]) == 1
    scale = saved["scales"][0]
    assert scale["label"] == SMOKE_SCALE and scale["errors"] == []
    assert set(scale["steps"]) == set(bench.STEP_ORDER)
    for name, step in scale["steps"].items():
        assert step["ok"], name
        assert step["wall_seconds"] > 0 and step["peak_rss_bytes"] > 10 * 1024**2, name
    # The generated size is near the requested scale (the calibration holds at small scale too).
    assert 0.3 * 3000 <= scale["rows"] <= 3 * 3000
    assert scale["rows_after_day"] > scale["rows"]
    assert sum(scale["steps"]["advance"]["extra"]["raw_rows_added"].values()) > 0
    # The hand-written lower bound gives the dbt build's answers, before and after the incremental day.
    for key in ("totals_check", "totals_check_after_day"):
        check = scale[key]
        assert check["ok"], check
        assert set(check["tables"]) == set(bench.CHECKED_TABLES)
        tc = check["tables"]["fct_task_completions"]
        assert tc["rows"]["dbt"] > 0 and tc["sums"]["revenue_usd"]["dbt"] > 0
    # The day reached the fact (new completions, status changes, rows moving to quarantine).
    before = scale["totals_check"]["tables"]["fct_task_completions"]
    after = scale["totals_check_after_day"]["tables"]["fct_task_completions"]
    common = sorted(set(before["sums"]) & set(after["sums"]))
    assert "revenue_usd" in common
    assert (before["rows"], [before["sums"][c] for c in common]) != (after["rows"], [after["sums"][c] for c in common])
    ratios = scale["ratios"]
    assert ratios["full_build_over_lower_bound"] > 0 and ratios["incremental_over_full_build"] > 0
    assert scale["steps"]["full_build"]["extra"]["time_by_kind"].get("model", 0) > 0
    assert set(scale["targets"]) and results["scales"][0]["label"] == SMOKE_SCALE
    # DuckDB's settings of the dbt builds and the lower bound are recorded (environment or defaults).
    want = duckdb_settings(Path(scale["workdir"]) / "warehouse.duckdb")
    assert scale["duckdb_settings"] == want
    assert saved["duckdb_settings"] == {k: want[k] for k in ("memory_limit", "threads")}
    # Isolation: the step's own DuckDB file and dbt target paths, under the out dir.
    assert Path(scale["workdir"]).parent == out
    assert (out / SMOKE_SCALE / "run_results-full_build.json").is_file()
    assert (out / "time_vs_rows.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Wall time is not asserted (a busy CI machine is not a failure): about 30-40 s on an idle
    # 2-core machine, most of it dbt starting up; `elapsed` is in the -ra report when slow.
    print(f"smoke run: {elapsed:.0f}s")


def _fake_scale(label: str, rows: int, full_s: float) -> dict:
    steps = {
        name: {"ok": True, "wall_seconds": seconds, "peak_rss_bytes": 100 * 1024**2}
        for name, seconds in (("generate", 1.0), ("lower_bound", 0.5), ("full_build", full_s),
                              ("incremental_build", full_s / 4))
    }
    steps["generate"]["extra"] = {"user_offers_per_second": rows / 1.0}
    scale = {"label": label, "target_rows": rows, "rows": rows, "steps": steps, "errors": []}
    scale["ratios"] = bench.ratios(scale)
    scale["targets"] = bench.evaluate_targets(scale)
    return scale


def test_merge_puts_runs_in_one_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"seed": 7, "scales": [_fake_scale("10m", 10_000_000, 40.0)]}))
    (tmp_path / "b.json").write_text(json.dumps({"seed": 7, "scales": [_fake_scale("100k", 100_000, 2.0)]}))
    merged = bench.merge_results([str(tmp_path / "a.json"), str(tmp_path / "b.json")], str(tmp_path / "m"))
    assert [sc["label"] for sc in merged["scales"]] == ["100k", "10m"]
    big = merged["scales"][1]
    assert big["ratios"]["full_build_over_lower_bound"] == 80.0
    assert big["ratios"]["incremental_over_full_build"] == 0.25
    assert big["targets"]["full_build / lower_bound <= 3x"]["met"] is False
    assert big["targets"]["generate_rows_per_second >= 500k"]["met"] is True
    assert (tmp_path / "m" / "time_vs_rows.png").read_bytes()[:4] == b"\x89PNG"
    table = capsys.readouterr().out
    assert "80.00x" in table and "25.0%" in table


def test_a_timed_out_full_build_gives_an_at_least_ratio() -> None:
    scale = _fake_scale("10m", 10_000_000, 40.0)
    scale["steps"]["full_build"].update(ok=False, extra={"timed_out": True})
    del scale["steps"]["incremental_build"]
    ratios = bench.ratios(scale)
    assert ratios["full_build_over_lower_bound"] is None
    assert ratios["full_build_over_lower_bound_at_least"] == 80.0
    scale["ratios"] = ratios
    target = bench.evaluate_targets(scale)["full_build / lower_bound <= 3x"]
    assert target["met"] is False and target["value_is_at_least"]
    scale["steps"]["full_build"]["wall_seconds"] = 1.0  # killed early: 2x proves nothing
    scale["ratios"] = bench.ratios(scale)
    assert bench.evaluate_targets(scale)["full_build / lower_bound <= 3x"]["met"] is None
    assert ">=2.00x" in bench.format_table([scale])


def test_profile_query_lists_the_costly_operators_without_writing(tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select range as id, range % 7 as k from range(200000)")
    sql = tmp_path / "q.sql"
    sql.write_text("select k, count(*) as n, sum(id) as s from t group by k order by k;\n")
    ops = bench.profile_query(str(db), str(sql), top=5)
    assert 1 <= len(ops) <= 5
    assert ops == sorted(ops, key=lambda op: op["seconds"], reverse=True)
    assert {"HASH_GROUP_BY", "TABLE_SCAN", "SEQ_SCAN"} & {op["operator"] for op in ops}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.tables").fetchone()[0] == 1


def test_project_dir_outside_a_checkout_is_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    # A plain `pip install .` puts the package in site-packages, away from dbt_project.yml.
    from offerwall.bench import scale_run

    monkeypatch.delenv("DBT_PROJECT_DIR", raising=False)
    monkeypatch.setattr(scale_run, "__file__", str(tmp_path / "site" / "offerwall" / "bench" / "scale_run.py"))
    project = tmp_path / "clone"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.chdir(project)
    assert scale_run.project_dir() == project.resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OfferwallError, match="DBT_PROJECT_DIR"):
        scale_run.project_dir()
    monkeypatch.setenv("DBT_PROJECT_DIR", str(project))
    assert scale_run.project_dir() == project.resolve()
