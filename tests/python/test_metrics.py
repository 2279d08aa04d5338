"""The metrics layer (models/semantic, MetricFlow) equals the marts, through the real `mf` CLI.

On the baseline warehouse (a byte copy, see dbt_harness.baseline_warehouse), `mf query` runs in a
copy of the project with DBT_PROFILES_DIR and DUCKDB_PATH set, the way docs/metrics.md says to
run it. Each metric is compared with the same figure read from its mart in SQL written here:

- revenue_usd, reward_cost_usd, margin_usd, credited_completions, chargeback_rate per month
  against fct_offer_daily_performance;
- ua_spend_usd and roas_to_date per month against fct_ua_cohorts;
- expected_margin_usd per month and per offer provider against fct_offer_daily_performance;
- the dimensions (offer provider and category, acquisition channel, country, platform, risk tier,
  week) against the marts that carry them: dim_offers, fct_user_ltv, fct_user_fraud_signals;
- `mf query --metrics margin_usd --group-by metric_time__month` prints the mart's monthly margin.

Also: the semantic manifest is valid for BigQuery (parsed with `--target bigquery`, offline, and
checked by the validator `mf validate-configs` runs).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bq_emulator import DBT, base_env, run
from dbt_harness import Warehouse, baseline_warehouse, copy_project

MF = str(Path(sys.executable).parent / "mf")
OM = '"dev_marts_offer_management"'
UA = '"dev_marts_user_acquisition"'
AF = '"dev_marts_anti_fraud"'
CORE = '"dev_marts_core"'
TOLERANCE = 0.011  # money: the CSV rounds nothing, sums may differ in the last cent of float text


@pytest.fixture(scope="module")
def mf_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Path, dict[str, str]]:
    base, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    tmp = tmp_path_factory.mktemp("metrics")
    project = copy_project(tmp / "project")
    wh = base.copy_to(tmp / "wh", project_dir=project)
    res = wh.dbt("parse")
    assert res.success, res.summary()
    # mf reads <project>/target/semantic_manifest.json (dbt parse writes it)
    (project / "target").mkdir(exist_ok=True)
    shutil.copy2(wh.target / "semantic_manifest.json", project / "target" / "semantic_manifest.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(DBT_PROFILES_DIR=str(project), DUCKDB_PATH=str(wh.db), DBT_SCHEMA="dev", DBT_TARGET="dev",
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")  # fmt: skip
    return wh, project, env


def mf(env_: tuple[Warehouse, Path, dict[str, str]], *args: str) -> subprocess.CompletedProcess[str]:
    _, project, env = env_
    proc = subprocess.run([MF, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mf {' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def mf_csv(env_: tuple[Warehouse, Path, dict[str, str]], metrics: list[str], group_by: list[str]) -> list[dict[str, str]]:
    out = env_[1].parent / f"mf_{'_'.join(metrics)[:60]}_{len(group_by)}.csv"
    mf(env_, "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by), "--csv", str(out))
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows, f"mf returned no rows for {metrics} by {group_by}"
    return rows


def _num(text: str | None) -> float:
    return 0.0 if text in (None, "") else float(text)


def _close(a: float, b: float, tol: float = TOLERANCE) -> bool:
    return abs(a - b) <= tol


def _month(text: object) -> str:
    return str(text)[:7]


def test_offer_metrics_per_month_equal_fct_offer_daily_performance(mf_env) -> None:
    wh = mf_env[0]
    metrics = ["revenue_usd", "reward_cost_usd", "margin_usd", "credited_completions", "chargeback_rate"]
    got = {_month(r["metric_time__month"]): r for r in mf_csv(mf_env, metrics, ["metric_time__month"])}
    mart = {
        _month(m): (float(rev), float(cost), float(margin), int(cred), rev_n / (cred + rev_n) if cred + rev_n else None)
        for m, rev, cost, margin, cred, rev_n in wh.query(
            f"""select date_trunc('month', completed_date), sum(revenue_usd), sum(reward_cost_usd),
                       sum(margin_usd), sum(credited_completions), sum(reversed_completions)
                from {OM}.fct_offer_daily_performance group by 1"""
        )
    }
    assert set(got) == set(mart) and len(mart) >= 2, (sorted(got), sorted(mart))
    bad = []
    for month, (rev, cost, margin, cred, rate) in mart.items():
        row = got[month]
        for name, want, tol in (("revenue_usd", rev, TOLERANCE), ("reward_cost_usd", cost, TOLERANCE),
                                ("margin_usd", margin, TOLERANCE), ("credited_completions", cred, 0),
                                ("chargeback_rate", rate or 0.0, 1e-9)):  # fmt: skip
            if not _close(_num(row[name]), want, tol):
                bad.append((month, name, row[name], want))
    assert not bad, bad
    assert sum(v[3] for v in mart.values()) > 0 and sum(v[2] for v in mart.values()) != 0


def test_ua_metrics_per_month_equal_fct_ua_cohorts(mf_env) -> None:
    wh = mf_env[0]
    got = {_month(r["metric_time__month"]): r for r in mf_csv(mf_env, ["ua_spend_usd", "roas_to_date"], ["metric_time__month"])}
    mart = {
        _month(m): (float(spend or 0), float(paid_margin or 0) / float(spend) if spend else None)
        for m, spend, paid_margin in wh.query(
            f"""select date_trunc('month', cohort_date), sum(spend_usd),
                       sum(case when is_paid_channel then margin_usd_to_date else 0 end)
                from {UA}.fct_ua_cohorts group by 1"""
        )
    }
    assert set(got) == set(mart), (sorted(got), sorted(mart))
    bad = [(m, "ua_spend_usd", got[m]["ua_spend_usd"], s) for m, (s, _) in mart.items() if not _close(_num(got[m]["ua_spend_usd"]), s)]
    bad += [(m, "roas_to_date", got[m]["roas_to_date"], r) for m, (_, r) in mart.items()
            if r is not None and not _close(_num(got[m]["roas_to_date"]), r, 1e-6)]  # fmt: skip
    assert not bad, bad
    assert sum(s for s, _ in mart.values()) > 0


def test_expected_margin_equals_fct_offer_daily_performance(mf_env) -> None:
    wh = mf_env[0]
    rows = mf_csv(mf_env, ["expected_margin_usd"], ["metric_time__month", "offer__provider"])
    got: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        got[(_month(r["metric_time__month"]), r["offer__provider"])] += _num(r["expected_margin_usd"])
    mart = {
        (_month(m), p): float(v or 0)
        for m, p, v in wh.query(
            f"""select date_trunc('month', completed_date), provider, sum(expected_margin_usd)
                from {OM}.fct_offer_daily_performance group by 1, 2"""
        )
    }
    assert set(got) == set(mart) and len(mart) >= 4, (sorted(got), sorted(mart))
    bad = [(k, got[k], v) for k, v in mart.items() if not _close(got[k], v, 0.05)]
    assert not bad, bad
    assert sum(mart.values()) > 0


def test_dimensions_slice_the_metrics_as_their_marts_do(mf_env) -> None:
    """One query at the finest grain of every dimension; rolled up per dimension it must equal
    the mart holding that dimension."""
    wh = mf_env[0]
    dims = ["offer__provider", "offer__category", "user__acquisition_channel", "user__country",
            "user__platform", "user__risk_tier", "metric_time__week"]  # fmt: skip
    rows = mf_csv(mf_env, ["margin_usd", "credited_completions"], dims)

    def rollup(dim: str) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for r in rows:
            out[r[dim] or "None"] += _num(r["margin_usd"])
        return dict(out)

    def mart(sql: str) -> dict[str, float]:
        return {("None" if k is None else str(k)): float(v) for k, v in wh.query(sql)}

    expected = {
        "offer__provider": mart(f"select provider, sum(margin_usd) from {OM}.fct_offer_daily_performance group by 1"),
        "offer__category": mart(f"select category, sum(margin_usd) from {OM}.fct_offer_daily_performance group by 1"),
        "user__acquisition_channel": mart(f"select acquisition_channel, sum(margin_usd_to_date) from {UA}.fct_user_ltv group by 1"),
        "user__country": mart(f"select country, sum(margin_usd_to_date) from {UA}.fct_user_ltv group by 1"),
        "user__platform": mart(f"select platform, sum(margin_usd_to_date) from {UA}.fct_user_ltv group by 1"),
        "user__risk_tier": mart(
            f"""select s.risk_tier, sum(c.margin_usd) from {CORE}.fct_task_completions as c
                left join {AF}.fct_user_fraud_signals as s on c.user_id = s.user_id group by 1"""
        ),
        "metric_time__week": mart(
            f"""select strftime(date_trunc('week', completed_date), '%Y-%m-%d'), sum(margin_usd)
                from {OM}.fct_offer_daily_performance group by 1"""
        ),
    }
    bad = []
    for dim, want in expected.items():
        have = rollup(dim)
        if dim == "metric_time__week":
            have = {k[:10]: v for k, v in have.items()}
        want = {k: v for k, v in want.items() if abs(v) > TOLERANCE}
        have = {k: v for k, v in have.items() if abs(v) > TOLERANCE}
        assert len(want) >= 2, f"{dim}: the mart has one value only, the check would prove nothing: {want}"
        if set(have) != set(want) or any(not _close(have[k], want[k], 0.05) for k in want):
            bad.append((dim, have, want))
    assert not bad, bad
    tiers = {r["user__risk_tier"] for r in rows}
    assert {"high", "low"} <= tiers, tiers


def test_mf_query_prints_the_marts_monthly_margin(mf_env) -> None:
    wh = mf_env[0]
    proc = mf(mf_env, "query", "--metrics", "margin_usd", "--group-by", "metric_time__month")
    printed = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^(\d{4}-\d{2})-01T00:00:00\s+(-?[\d.]+)\s*$", proc.stdout, re.M)
    }
    mart = {
        _month(m): float(v)
        for m, v in wh.query(
            f"select date_trunc('month', completed_date), sum(margin_usd) from {OM}.fct_offer_daily_performance group by 1"
        )
    }
    assert printed and set(printed) == set(mart), f"printed:\n{proc.stdout}\nmart: {mart}"
    assert all(_close(printed[m], mart[m]) for m in mart), (printed, mart)


def test_semantic_manifest_is_valid_for_bigquery(tmp_path: Path) -> None:
    """Offline: `dbt parse --target bigquery` (dummy credentials, nothing sent) writes the semantic
    manifest; the validator `mf validate-configs` runs finds no error in it."""
    from metricflow_semantic_interfaces.validations.semantic_manifest_validator import SemanticManifestValidator
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest

    project = copy_project(tmp_path / "project")
    env = base_env(tmp_path, {"BQ_PROJECT": "offline-project", "BQ_DATASET": "offline",
                              "BQ_AUTH_METHOD": "oauth-secrets", "BQ_TOKEN": "offline-parse-sends-nothing"})  # fmt: skip
    run([DBT, "parse", "--target", "bigquery", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(tmp_path / "target")], env=env)  # fmt: skip
    text = (tmp_path / "target" / "semantic_manifest.json").read_text()
    manifest = parse_manifest_from_dbt_generated_manifest(manifest_json_string=text)
    names = {m.name for m in manifest.metrics}
    required = {"revenue_usd", "reward_cost_usd", "margin_usd", "credited_completions", "chargeback_rate",
                "ua_spend_usd", "roas_to_date", "expected_margin_usd"}  # fmt: skip
    assert required <= names, required - names
    result = SemanticManifestValidator().validate_semantic_manifest(manifest)
    assert not result.has_blocking_issues, [str(i) for i in result.all_issues]
    assert manifest.project_configuration.time_spines, "no time spine in the semantic manifest"
