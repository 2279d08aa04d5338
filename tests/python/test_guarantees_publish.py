"""Guarantee 9: write-audit-publish and the volume guards (issue 10, reproductions 1-3).

The daily build (`make run`, the deploy job) builds and tests every mart into private schemas
(`<target schema>_wap_marts_<team>`, var `wap: true`), then `dbt run-operation publish_marts`
copies them, in one transaction, to the relations analysts read (`<target schema>_marts_<team>`).
A failing build publishes nothing; publish refuses to run after a failed build. Before any model
is rebuilt, `audit_raw_load_profile` compares each raw table with the last good load and fails
the build, naming the table and the figure, on an empty or sharply shrunk table, a missing day
of spend or rows changed in place.

Each reproduction works on a byte copy of one published warehouse and compares the published
marts (order-independent checksums) before and after.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import (
    DBT_SCHEMA,
    DbtResult,
    Relation,
    Warehouse,
    baseline_warehouse,
    compare_warehouses,
)

WAP = {"wap": True}


def build_and_publish(wh: Warehouse, *args: str) -> tuple[DbtResult, DbtResult | None]:
    """The daily build: `dbt build` into the private schemas, then publish only if it passed."""
    build = wh.dbt("build", *args, vars=WAP)
    if not build.success:
        return build, None
    return build, wh.dbt("run-operation", "publish_marts", vars=WAP)


def published(wh: Warehouse) -> list[Relation]:
    """The marts analysts read: each mart of the (wap) manifest, in its published schema."""
    out = []
    for rel in wh.mart_relations():
        assert rel.schema.startswith(f"{DBT_SCHEMA}_wap_"), f"{rel.name} is not built in a private schema: {rel.schema}"
        out.append(Relation(rel.name, rel.schema.replace(f"{DBT_SCHEMA}_wap_", f"{DBT_SCHEMA}_", 1), rel.identifier))
    return out


def private(wh: Warehouse) -> list[Relation]:
    return wh.mart_relations()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The baseline's raw data, built and published the daily way."""
    base, _ = baseline_warehouse(tmp_path_factory)
    wh = base.copy_to(tmp_path_factory.mktemp("wap") / "good")
    build, pub = build_and_publish(wh)
    assert build.success, build.summary()
    assert pub is not None and pub.success, pub.summary() if pub else "not published"
    return wh


def assert_failed_and_nothing_published(good: Warehouse, bad: Warehouse, res: DbtResult, *needles: str) -> None:
    assert not res.success, f"the build must fail:\n{res.summary()}"
    text = res.text
    for needle in needles:
        assert needle in text, f"the failing build does not say {needle!r}:\n{res.summary()}"
    # publishing anyway (a scheduler that ignores the exit code) refuses too
    pub = bad.dbt("run-operation", "publish_marts", vars=WAP)
    assert not pub.success, "publish_marts ran after a failed build"
    assert "not published" in pub.text, pub.summary()
    problems = compare_warehouses(good, bad, published(good))
    assert not problems, "published marts changed after a failed build:\n" + "\n".join(problems)


# Marts that are empty on a freshly generated warehouse by design: no review decision recorded
# yet (the app writes them), no price change captured between two builds yet.
# The LTV forecast's accuracy needs cohorts observed for 90 days; the baseline world has 60.
EMPTY_ON_A_FIRST_BUILD = {
    "fct_fraud_review_status", "fct_fraud_review_outcomes", "fct_offer_task_price_changes",
    "fct_ua_ltv_forecast_accuracy",
}


def test_publish_copies_every_mart(good: Warehouse) -> None:
    marts = private(good)
    assert len(marts) >= 8, marts
    pub = published(good)
    for a, b in zip(marts, pub, strict=True):
        assert good.checksum(a) == good.checksum(b), f"{b.fqn} differs from the build it published ({a.fqn})"
        if b.name not in EMPTY_ON_A_FIRST_BUILD:
            assert good.checksum(b).rows > 0, f"{b.fqn} is empty"


def test_empty_completions_fail_before_any_model(good: Warehouse, tmp_path: Path) -> None:
    """Reproduction 1: `delete from raw.user_offers` gave exit 0 and zeroed every mart."""
    bad = good.copy_to(tmp_path / "empty")
    n = bad.scalar("select count(*) from raw.user_offers")
    bad.execute("delete from raw.user_offers")
    res = bad.dbt("build", vars=WAP)
    assert_failed_and_nothing_published(good, bad, res, "raw.user_offers", "0 rows", f"{n:,}")
    fact = next(r for r in private(good) if r.name == "fct_task_completions")
    assert bad.checksum(fact) == good.checksum(fact), "the private completion fact (incremental state) changed"


def test_shrunk_completions_fail(good: Warehouse, tmp_path: Path) -> None:
    """Reproduction 1: user_offers cut to its first weeks deleted 10k fact rows before a test failed."""
    bad = good.copy_to(tmp_path / "shrunk")
    bad.execute("delete from raw.user_offers where _loaded_at > (select min(_loaded_at) + interval 21 day from raw.user_offers)")
    left = bad.scalar("select count(*) from raw.user_offers")
    res = bad.dbt("build", vars=WAP)
    assert_failed_and_nothing_published(good, bad, res, "raw.user_offers", f"{left:,}", "shrank")


def test_empty_spend_fails(good: Warehouse, tmp_path: Path) -> None:
    """Reproduction 2: `delete from raw.ua_spend_daily` gave exit 0 with CAC/ROAS/payback NULL."""
    bad = good.copy_to(tmp_path / "nospend")
    bad.execute("delete from raw.ua_spend_daily")
    res = bad.dbt("build", vars=WAP)
    assert_failed_and_nothing_published(good, bad, res, "raw.ua_spend_daily", "0 rows")


def test_missing_day_of_spend_fails(good: Warehouse, tmp_path: Path) -> None:
    bad = good.copy_to(tmp_path / "gap")
    day = bad.scalar("select min(spend_date) + 10 from raw.ua_spend_daily")
    bad.execute(f"delete from raw.ua_spend_daily where spend_date = date '{day}'")
    res = bad.dbt("build", vars=WAP)
    assert_failed_and_nothing_published(good, bad, res, "raw.ua_spend_daily", str(day))


def test_empty_tasks_fail(good: Warehouse, tmp_path: Path) -> None:
    """Reproduction 3: `delete from raw.offer_tasks` emptied dim_offer_tasks before the build failed."""
    bad = good.copy_to(tmp_path / "notasks")
    bad.execute("delete from raw.offer_tasks")
    res = bad.dbt("build", vars=WAP)
    assert_failed_and_nothing_published(good, bad, res, "raw.offer_tasks", "0 rows")


def test_rows_changed_in_place_fail(good: Warehouse, tmp_path: Path) -> None:
    """Reproduction 3: old raw rows edited in place failed a test only after the fact and dims were rewritten."""
    bad = good.copy_to(tmp_path / "inplace")
    bad.execute(
        "update raw.user_offers set payout_cents = payout_cents * 3 "
        "where id in (select id from raw.user_offers where payout_cents > 0 order by id limit 40)"
    )
    res = bad.dbt("build", vars=WAP)
    assert_failed_and_nothing_published(good, bad, res, "raw.user_offers", "changed in place")


def test_a_failing_test_after_the_marts_publishes_nothing_and_the_next_build_recovers(
    good: Warehouse, tmp_path: Path
) -> None:
    """A test that fails after the marts were rebuilt (the private ones change, the published do not);
    once it passes, the next build publishes numbers equal to a full rebuild (incremental state intact)."""
    project = tmp_path / "project"
    shutil.copytree(good.project_dir, project)
    failing = project / "tests" / "singular" / "zz_fails_after_the_marts.sql"
    failing.write_text("select * from {{ ref('fct_offer_daily_performance') }} where revenue_usd >= 0\n")
    bad = good.copy_to(tmp_path / "late", project_dir=project)
    bad.advance(5)
    res = bad.dbt("build", vars=WAP)
    assert not res.success, res.summary()
    assert res.node("zz_fails_after_the_marts") and res.node("zz_fails_after_the_marts").status == "fail", res.summary()
    rebuilt = [n.name for n in res.nodes if n.name == "fct_offer_daily_performance" and n.status == "success"]
    assert rebuilt, "the mart under test was not rebuilt privately"
    assert compare_warehouses(good, bad, [r for r in private(good) if r.name == "fct_task_completions"]), (
        "the private fact did not take the 5 new days"
    )
    assert_failed_and_nothing_published(good, bad, res)

    failing.unlink()
    build, pub = build_and_publish(bad)
    assert build.success, build.summary()
    assert pub is not None and pub.success, pub.summary() if pub else ""
    full = bad.copy_to(tmp_path / "full", project_dir=project)
    refreshed = full.dbt("build", "--full-refresh", "--exclude-resource-type", "snapshot", vars=WAP)
    assert refreshed.success, refreshed.summary()
    problems = compare_warehouses(bad, full, private(bad))
    problems += [p for a, b in zip(published(bad), private(full), strict=True) if (p := _diff(bad, a, full, b))]
    assert not problems, "after recovery, the build differs from a full rebuild:\n" + "\n".join(problems)


def _diff(wa: Warehouse, a: Relation, wb: Warehouse, b: Relation) -> str:
    ca, cb = wa.checksum(a), wb.checksum(b)
    return "" if ca == cb else f"{a.fqn} ({ca.rows} rows) != full refresh {b.fqn} ({cb.rows} rows)"


def test_publish_is_refused_without_a_good_build(good: Warehouse, tmp_path: Path) -> None:
    """A killed build (no build log entry) or a plain non-wap call publishes nothing."""
    other = good.copy_to(tmp_path / "killed")
    # what a killed `dbt build` leaves: a `started` log row without its `finished` row
    other.execute(
        "delete from dev_audit.audit_build_log where event = 'finished' and invocation_id = "
        "(select invocation_id from dev_audit.audit_build_log where event = 'started' order by logged_at desc limit 1)"
    )
    res = other.dbt("run-operation", "publish_marts", vars=WAP)
    assert not res.success and "not published" in res.text, res.summary()
    plain: Any = other.dbt("run-operation", "publish_marts")
    assert not plain.success and "wap" in plain.text, plain.summary()
