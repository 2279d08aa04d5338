"""The run log `ops.build_runs` (issue 16, audit): every published build appends one row with the
build's invocation id, who/what ran it, the commit and the row count of every published mart; a
build that fails (so publish_marts refuses) appends nothing; the table is append-only."""

from __future__ import annotations

import json
import os

import pytest
from dbt_harness import DBT_SCHEMA, Relation, Warehouse, copy_project

WAP = {"wap": True}
ENV = {"OFFERWALL_RUN_BY": "pytest:build_runs", "OFFERWALL_GIT_COMMIT": "0123abcd' or '1'='1"}


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    tmp = tmp_path_factory.mktemp("build_runs")
    wh = Warehouse(copy_project(tmp / "project"), tmp / "wh")
    wh.generate(users=600, days=45, seed=5, bad_rate=0.01, fraud_rate=0.03)
    return wh


def _publish(wh: Warehouse) -> tuple[bool, bool]:
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        build = wh.dbt("build", "--exclude-resource-type", "unit_test", vars=WAP)
        if not build.success:
            return False, False
        pub = wh.dbt("run-operation", "publish_marts", vars=WAP)
        return True, pub.success
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _runs(wh: Warehouse) -> list[tuple]:
    return wh.query(
        "select run_id, publish_id, published_at, run_by, git_commit, target_name, marts, total_rows, "
        "mart_row_counts from ops.build_runs order by published_at"
    )


def _published_counts(wh: Warehouse) -> dict[str, int]:
    counts = {}
    for rel in wh.mart_relations():
        schema = rel.schema.replace(f"{DBT_SCHEMA}_wap_", f"{DBT_SCHEMA}_", 1)
        counts[rel.name] = wh.scalar(f"select count(*) from {Relation(rel.name, schema, rel.identifier).fqn}")
    return counts


def _finished_builds(wh: Warehouse) -> list[str]:
    return [r[0] for r in wh.query(
        f"select invocation_id from {DBT_SCHEMA}_audit.audit_build_log "
        "where event = 'finished' and succeeded order by logged_at")]


def test_a_row_per_published_build_none_for_a_failed_one(wh: Warehouse) -> None:
    runs = []
    for day in range(2):
        if day:
            wh.advance(1)
        built, published = _publish(wh)
        assert built and published, f"build/publish {day + 1} failed"
        runs = _runs(wh)
        assert len(runs) == day + 1, f"{len(runs)} run log rows after {day + 1} published builds"
        run_id, publish_id, _, run_by, commit, target, marts, total, counts_text = runs[-1]
        # the row names the build that was published (the latest green build in the build log)
        assert run_id == _finished_builds(wh)[-1] and publish_id and publish_id != run_id
        assert run_by == "pytest:build_runs" and target == "dev"
        assert commit == "0123abcd_ or _1___1", commit  # quotes never reach the SQL text
        counts = json.loads(counts_text)
        expected = _published_counts(wh)
        assert counts == expected, f"row counts per mart {counts} != published {expected}"
        assert marts == len(expected) > 10 and total == sum(expected.values())
    assert runs[0][0] != runs[1][0] and runs[0][2] < runs[1][2]
    first_counts, second_counts = json.loads(runs[0][8]), json.loads(runs[1][8])
    assert second_counts["fct_task_completions"] > first_counts["fct_task_completions"], "a day later, more completions"

    # a failed build (the spend export is empty: the volume guard stops it) publishes nothing, logs nothing
    wh.execute("delete from raw.ua_spend_daily")
    built, published = _publish(wh)
    assert not built and not published
    pub = wh.dbt("run-operation", "publish_marts", vars=WAP)
    assert not pub.success and "not published" in pub.text
    assert _runs(wh) == runs, "a failed build changed the run log"
