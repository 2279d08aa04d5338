"""Guarantee 11: no row can freeze history (issue 10, reproductions 4-6).

A timestamp the replica cannot have seen yet (updated_at/created_at after _loaded_at plus
var `future_tolerance_hours`) or a status change dated before its completion is quarantined with
its own reason, and never counts as the latest version: it cannot win deduplication nor open a
snapshot version. A completion dated before its task existed is valued by the task's first
version and flagged, never a crash.

Two rounds on a copy of the baseline warehouse, like two daily loads: round 1 lands the insane
rows, round 2 the real changes that follow them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt_harness import NO_TESTS, Relation, Warehouse, baseline_warehouse

FUTURE = "timestamp '2100-01-01 00:00:00'"


def model(wh: Warehouse, name: str) -> Relation:
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] in ("model", "snapshot") and node["name"] == name:
            return Relation(node["name"], node["schema"], node.get("alias") or node["name"])
    raise AssertionError(f"{name} not in the manifest")


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    wh = base.copy_to(tmp_path_factory.mktemp("time") / "wh")
    fct = model(base, "fct_task_completions")  # the copy has no manifest before its first dbt call
    now = wh.scalar("select max(_loaded_at) from raw.user_offers")
    # two credited completions of clean tasks, and one clean task with completions
    a, b = [r[0] for r in wh.query(f"select completion_id from {fct.fqn} where status = 'credited' order by completion_id limit 2")]
    task = wh.scalar(
        f"select t.id from raw.offer_tasks as t join {model(base, 'stg_offerwall__offer_tasks').fqn} as s on s.offer_task_id = t.id "
        f"where t.id in (select offer_task_id from {fct.fqn}) order by t.id limit 1"
    )
    assert wh.scalar("select count(*) from raw.offer_tasks where id = ?", [task]) == 1
    old_reward = wh.scalar("select reward_coins from raw.offer_tasks where id = ?", [task])
    task_revenue = f"select count(*), sum(revenue_usd) from {fct.fqn} where offer_task_id = {task}"
    task_revenue_0 = wh.query(task_revenue)[0]

    # round 1: a copy of completion a dated 2100; a reversal of b dated before its completion;
    # task edited in place with updated_at 2100
    wh.execute(
        f"insert into raw.user_offers select * replace ({FUTURE} as updated_at, timestamp '{now}' + interval 1 hour as _loaded_at) "
        f"from raw.user_offers where id = {a} qualify row_number() over (order by updated_at desc, _loaded_at desc) = 1",
        f"insert into raw.user_offers select * replace ('reversed' as status, completed_at - interval 1 day as updated_at, "
        f"timestamp '{now}' + interval 1 hour as _loaded_at) "
        f"from raw.user_offers where id = {b} qualify row_number() over (order by updated_at desc, _loaded_at desc) = 1",
        f"update raw.offer_tasks set updated_at = {FUTURE}, reward_coins = reward_coins + 1, "
        f"_loaded_at = timestamp '{now}' + interval 1 hour where id = {task}",
    )
    r1 = wh.dbt("build", *NO_TESTS)
    snap_after_1 = wh.query(
        f"select dbt_valid_from, reward_coins from {model(wh, 'snp_offerwall__offer_tasks').fqn} where offer_task_id = ? order by 1",
        [task],
    )
    status_a_1 = wh.scalar(f"select status from {fct.fqn} where completion_id = ?", [a])
    task_revenue_1 = wh.query(task_revenue)[0]
    dim = model(wh, "dim_offer_tasks")
    has_flag = wh.scalar(
        "select count(*) from information_schema.columns where table_schema = ? and table_name = ? and column_name = 'is_inferred'",
        [dim.schema, dim.identifier],
    )
    dim_task_1 = wh.query(f"select reward_coins, {'is_inferred' if has_flag else 'null'} from {dim.fqn} where offer_task_id = ?", [task])

    # round 2, a day later: the real reversal of a, the real edit of the task
    wh.execute(
        f"insert into raw.user_offers select * replace ('reversed' as status, timestamp '{now}' + interval 1 day as updated_at, "
        f"timestamp '{now}' + interval 25 hour as _loaded_at) "
        f"from raw.user_offers where id = {a} and updated_at < {FUTURE} "
        f"qualify row_number() over (order by updated_at desc, _loaded_at desc) = 1",
        f"update raw.offer_tasks set updated_at = timestamp '{now}' + interval 1 day, reward_coins = 777, payout_cents = 1777, "
        f"_loaded_at = timestamp '{now}' + interval 25 hour where id = {task}",
    )
    r2 = wh.dbt("build", *NO_TESTS)
    return {
        "wh": wh, "a": a, "b": b, "task": task, "now": now, "old_reward": old_reward,
        "r1": r1, "r2": r2, "snap_after_1": snap_after_1, "status_a_1": status_a_1,
        "task_revenue_0": task_revenue_0, "task_revenue_1": task_revenue_1, "dim_task_1": dim_task_1,
    }  # fmt: skip


def test_builds_pass(rounds: dict[str, Any]) -> None:
    assert rounds["r1"].success, rounds["r1"].summary()
    assert rounds["r2"].success, rounds["r2"].summary()


def test_a_completion_dated_2100_does_not_freeze_its_status(rounds: dict[str, Any]) -> None:
    """Reproduction 4: the 2100 copy stayed 'latest' forever; the later reversal was superseded."""
    wh, a = rounds["wh"], rounds["a"]
    quar = model(wh, "stg_offerwall__user_offers_quarantine")
    reasons = {r for (r,) in wh.query(f"select reason from {quar.fqn} where completion_id = ?", [a])}
    assert reasons == {"updated_in_future"}, f"completion {a}: quarantine reasons {reasons}"
    assert rounds["status_a_1"] == "credited", "round 1: the clean version must stay in the fact"
    fct = model(wh, "fct_task_completions")
    status, revenue = wh.query(f"select status, revenue_usd from {fct.fqn} where completion_id = ?", [a])[0]
    assert status == "reversed" and revenue == 0, f"completion {a}: {status}, revenue {revenue} (the reversal must win)"


def test_a_status_change_dated_before_its_completion_is_quarantined(rounds: dict[str, Any]) -> None:
    """Reproduction 4: a reversal dated before completed_at was silently superseded."""
    wh, b = rounds["wh"], rounds["b"]
    quar = model(wh, "stg_offerwall__user_offers_quarantine")
    rows = wh.query(f"select status, reason from {quar.fqn} where completion_id = ?", [b])
    assert rows == [("reversed", "status_change_before_completion")], f"completion {b} in quarantine: {rows}"
    fct = model(wh, "fct_task_completions")
    assert wh.scalar(f"select status from {fct.fqn} where completion_id = ?", [b]) == "credited"


def test_a_task_dated_2100_opens_no_version_and_the_real_edit_is_captured(rounds: dict[str, Any]) -> None:
    """Reproduction 5: the 2100 version was valid from 2100; the real edit after it was never captured."""
    wh, task = rounds["wh"], rounds["task"]
    assert all(vf.year < 2100 for vf, _ in rounds["snap_after_1"]), f"round 1 snapshot: {rounds['snap_after_1']}"
    snap = wh.query(
        f"select dbt_valid_from, dbt_valid_to, reward_coins, payout_cents from {model(wh, 'snp_offerwall__offer_tasks').fqn} "
        "where offer_task_id = ? order by dbt_valid_from",
        [task],
    )
    assert all(row[0].year < 2100 for row in snap), f"a version valid from 2100: {snap}"
    current = [row for row in snap if row[1] is None]
    assert len(current) == 1 and current[0][2:] == (777, 1777), f"task {task}: the real edit is not the current version: {snap}"
    dim = model(wh, "dim_offer_tasks")
    assert wh.query(f"select reward_coins, is_inferred from {dim.fqn} where offer_task_id = ?", [task]) == [(777, False)]


def test_the_insane_task_keeps_its_completions_meanwhile(rounds: dict[str, Any]) -> None:
    """Round 1: the task's only raw row is quarantined; its completions stay in the fact with their
    revenue, and dim_offer_tasks shows its last clean version as an inferred member."""
    before, after = rounds["task_revenue_0"], rounds["task_revenue_1"]
    assert before[0] > 0 and after == before, f"task {rounds['task']}: completions/revenue {before} -> {after}"
    assert rounds["dim_task_1"] == [(rounds["old_reward"], True)], rounds["dim_task_1"]


def test_a_completion_before_its_task_existed_is_valued_by_the_first_version(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Reproduction 6: such a completion crashed the build (NOT NULL task_position in the funnel)
    after fct_offer_daily_performance was already rebuilt with it."""
    base, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    wh = base.copy_to(tmp_path / "early")
    now = wh.scalar("select max(_loaded_at) from raw.user_offers")
    task, offer, created = wh.query(
        f"select offer_task_id, offer_id, created_at from {model(base, 'stg_offerwall__offer_tasks').fqn} "
        "where created_at > (select min(created_at) + interval 5 day from raw.offer_tasks) order by offer_task_id limit 1"
    )[0]
    user = wh.scalar(f"select user_id from {model(base, 'stg_offerwall__users').fqn} order by user_id limit 1")
    next_id = wh.scalar("select max(id) + 1 from raw.user_offers")
    values = []
    for i, completed in enumerate((f"timestamp '{created}' - interval 3 day", "timestamp '1970-01-02 00:00:00'")):
        values.append(
            f"({next_id + i}, '{user}', {offer}, {task}, 'credited', 900, 250, {completed} - interval 10 minute, "
            f"{completed}, {completed} + interval 1 hour, 'US', 'android', 'ip_x', 'dev_x', timestamp '{now}' + interval 1 hour)"
        )
    wh.execute(
        "insert into raw.user_offers (id, user_id, offer_id, offer_task_id, status, reward_coins, payout_cents, "
        "started_at, completed_at, updated_at, country, device_platform, ip_hash, device_hash, _loaded_at) values "
        + ", ".join(values)
    )
    res = wh.dbt("build")
    assert res.success, res.summary()
    fct = model(wh, "fct_task_completions")
    rows = wh.query(
        f"select f.completion_id, f.revenue_usd, f.task_position, f.is_before_task_created, v.version_number "
        f"from {fct.fqn} as f join {model(wh, 'dim_offer_task_versions').fqn} as v using (offer_task_version_id) "
        "where f.completion_id in (?, ?) order by 1",
        [next_id, next_id + 1],
    )
    assert len(rows) == 2, f"the early completions are not in the fact with a version: {rows}"
    for cid, revenue, position, early, version in rows:
        assert float(revenue) == 2.5 and position is not None and early and version == 1, rows
    funnel = model(wh, "fct_offer_task_funnel")
    assert wh.scalar(f"select count(*) from {funnel.fqn} where offer_id = ? and task_position is null", [offer]) == 0
