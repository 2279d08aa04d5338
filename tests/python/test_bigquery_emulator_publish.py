"""Write-audit-publish on the BigQuery emulator (guarantee 9, docs/bigquery.md).

generate -> load-bigquery -> `dbt build --vars '{wap: true}'` on the emulator (marts in
`ci_wap_marts_*`) -> `dbt run-operation publish_marts` (marts copied to `ci_marts_*`): every
published mart equals its private build, and the run log `ops.build_runs` gets one row with the
published marts' row counts. Then the spend table arrives empty: the build fails on the raw load
guards naming the table, publish refuses, the published marts are unchanged and the run log
gets no row.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bq_emulator import DBT, OFFERWALL, REPO, base_env, bq_client, bq_emulator, run  # noqa: F401

pytestmark = pytest.mark.emulator

GENERATE = ["--users", "200", "--days", "21", "--seed", "11", "--bad-rate", "0.02", "--fraud-rate", "0.05"]
PREFIX = "ciwap"
WAP = ["--vars", "{wap: true}"]
MARTS = {
    "marts_core": ["dim_offer_task_versions", "dim_offer_tasks", "dim_offers", "dim_users", "fct_task_completions"],
    "marts_offer_management": ["fct_offer_daily_performance", "fct_offer_task_funnel"],
    "marts_user_acquisition": ["fct_ua_cohorts", "fct_user_ltv"],
}


def fingerprints(client, project: str, schema: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every listed mart in `schema`."""
    out = {}
    for folder, tables in MARTS.items():
        for table in tables:
            rel = f"`{project}`.`{schema}_{folder}`.`{table}`"
            row = next(iter(client.query(
                f"select count(*) as n, sum(length(to_json_string(t))) as size from {rel} as t"
            ).result()))
            out[table] = (row.n, str(row.size))
    return out


def run_log(client, project: str) -> list:
    """The run log's rows (the table exists once any dbt invocation ran on-run-start)."""
    return list(client.query(
        f"select run_id, marts, mart_row_counts from `{project}`.`ops`.`build_runs` order by published_at"
    ).result())


def dbt(args: list[str], env: dict[str, str], target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBT, *args, "--target", "bigquery_emulator", "--target-path", str(target)],
        cwd=REPO, env={**env, "DBT_LOG_PATH": str(target / "logs")}, capture_output=True, text=True, timeout=900,
    )


def test_publish_on_the_emulator(bq_emulator, tmp_path):  # noqa: F811
    db = tmp_path / "wh.duckdb"
    env = base_env(tmp_path, {**bq_emulator.env(), "DBT_SCHEMA": PREFIX})
    project = bq_emulator.project
    client = bq_client(bq_emulator)
    run([OFFERWALL, "generate", *GENERATE, "--duckdb", str(db)], env)
    run([OFFERWALL, "load-bigquery", "--project", project, "--dataset", "raw", "--duckdb", str(db),
         "--parquet", str(tmp_path / "pq")], env)  # fmt: skip

    build = dbt(["build", *WAP], env, tmp_path / "t1")
    assert build.returncode == 0, build.stdout[-4000:]
    pub = dbt(["run-operation", "publish_marts", *WAP], env, tmp_path / "t1")
    assert pub.returncode == 0 and "Published" in pub.stdout, pub.stdout[-4000:]
    private = fingerprints(client, project, f"{PREFIX}_wap")
    published = fingerprints(client, project, PREFIX)
    assert published == private and all(n > 0 for n, _ in published.values()), (published, private)
    runs = run_log(client, project)
    assert len(runs) == 1, runs
    counts = json.loads(runs[0].mart_row_counts)
    assert {table: counts[table] for table in published} == {t: n for t, (n, _) in published.items()}, counts

    # the spend export arrives empty: nothing rebuilt, nothing published
    client.query(f"create or replace table `{project}`.`raw`.`ua_spend_daily` as "
                 f"select * from `{project}`.`raw`.`ua_spend_daily` where false").result()  # fmt: skip
    failed = dbt(["build", *WAP], env, tmp_path / "t2")
    assert failed.returncode != 0, failed.stdout[-4000:]
    assert "raw.ua_spend_daily has 0 rows" in failed.stdout, failed.stdout[-4000:]
    refused = dbt(["run-operation", "publish_marts", *WAP], env, tmp_path / "t2")
    assert refused.returncode != 0 and "not published" in refused.stdout, refused.stdout[-4000:]
    assert fingerprints(client, project, PREFIX) == published
    assert len(run_log(client, project)) == 1, "a refused publish wrote the run log"
    client.close()


def test_erase_appends_to_the_bigquery_ops_table(bq_emulator, tmp_path):  # noqa: F811
    """`offerwall erase --bigquery-project` appends the request as data (a load job, no SQL text):
    an injection string is stored as the plain id it is; asked twice, two rows (staging keeps one)."""
    env = base_env(tmp_path, bq_emulator.env())
    project = bq_emulator.project
    client = bq_client(bq_emulator)
    client.query(f"create schema if not exists `{project}`.`ops`").result()
    hostile = "u_1' or '1'='1"
    for _ in range(2):
        run([OFFERWALL, "erase", "--bigquery-project", project, "--user-id", hostile,
             "--requested-at", "2026-03-01T10:00:00"], env)  # fmt: skip
    rows = list(client.query(
        f"select user_id, requested_at from `{project}`.`ops`.`gdpr_erasure_requests`"
    ).result())
    assert [(r.user_id, r.requested_at.replace(tzinfo=None).isoformat()) for r in rows] == [
        (hostile, "2026-03-01T10:00:00")
    ] * 2, rows
    client.close()
