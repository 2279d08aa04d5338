"""Source system v2 (docs/source-redesign.md), proven by running it.

One simulated world, generated with `--source-model v2` (raw and raw_v2 side by side), is built
twice: from v1 (default vars) and from v2 (`--vars '{source_model: v2}'`). Then:

1. every v1 mart built from v2 equals the mart built from v1, compared by checksums over every
   column, except the columns/rows named in V1_LOSES (where v1 has less information; each entry
   says why, and the test checks that the difference is really there);
2. the v2 build passes all its data tests, the v2-only marts' included, and their numbers hold
   together (funnel totals = the event log, position effect, terms changed = versions differ);
3. after `offerwall advance` (v2 appended) an incremental build equals a full refresh, v2 events
   included, and v1 vs v2 are still equal after the advance.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dbt_harness import NO_TESTS, Relation, Warehouse, _row_text, copy_project

WORLD = ["--users", "1000", "--days", "30", "--seed", "31", "--bad-rate", "0.01", "--fraud-rate", "0.03"]
V2 = {"source_model": "v2"}
ADVANCE_DAYS = "4"

# mart -> (columns where v1 loses information, a row filter applied to both sides, why)
V1_LOSES: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "fct_task_completions": (
        ("offer_task_version_id", "has_amount_mismatch"),
        None,
        "v1 knows a task's versions only from its snapshots: on a first build each task has one "
        "version (its current state), so completions made under an earlier version look like an "
        "amount mismatch; v2 references the version valid at completion (ids differ by construction).",
    ),
    "dim_offer_tasks": (
        ("version_count",),
        None,
        "v1 counts the versions its snapshots captured; v2 counts every version since creation.",
    ),
    "fct_offer_task_price_changes": (
        ("offer_task_version_id", "version_number"),
        "changed_date > cast('{first_clock}' as date)",
        "v1 sees a price change only once its snapshots captured both versions, so a first build "
        "has none; v2 has every change since creation. Changes made after the first build are the "
        "same in both (ids and version numbers differ by construction).",
    ),
    "dim_offer_task_versions": (
        ("offer_task_version_id", "version_number", "valid_from"),
        "is_current",
        "v1 holds the captured versions only; the current version is the same in both, except its "
        "id, its number and its start (v1: the task's creation, v2: the last change).",
    ),
}


def _checksum(wh: Warehouse, rel: Relation, exclude: tuple[str, ...], where: str | None) -> tuple[int, str]:
    cols = [c for c in wh.columns(rel) if c[0] not in exclude]
    sql = f"select count(*), coalesce(sum(hash({_row_text(cols)})), 0) from {rel.fqn}"
    if where:
        sql += f" where {where}"
    n, total = wh.query(sql)[0]
    return int(n), str(total)


def _compare_marts(v1: Warehouse, v2: Warehouse, first_clock: str) -> tuple[list[str], list[str]]:
    """(problems, names compared): every mart v1 builds, equal in v2 up to V1_LOSES.
    first_clock: the simulated clock of the first build (the end of the generated world)."""
    problems, compared = [], []
    for rel in v1.mart_relations():
        exclude, where, _ = V1_LOSES.get(rel.name, ((), None, ""))
        where = where.format(first_clock=first_clock) if where else where
        a, b = _checksum(v1, rel, exclude, where), _checksum(v2, rel, exclude, where)
        compared.append(rel.name)
        if a != b:
            problems.append(f"{rel.name}: v1 {a} vs v2 {b} (excluding {exclude}, where {where})")
    return problems, compared


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("source_v2")
    project = copy_project(tmp / "project")
    v2 = Warehouse(project, tmp / "v2")
    v2.offerwall("generate", *WORLD, "--source-model", "v2")
    first_clock = str(v2.scalar("select max(ingested_at) from raw_v2.user_offer_events"))
    v1 = v2.copy_to(tmp / "v1")
    res_v1 = v1.dbt("build", *NO_TESTS)
    assert res_v1.success, res_v1.summary()
    res_v2 = v2.dbt("build", vars=V2)
    return {"tmp": tmp, "project": project, "v1": v1, "v2": v2, "res_v2": res_v2, "first_clock": first_clock}


def test_every_v1_mart_built_from_v2_equals_the_mart_built_from_v1(worlds):
    v1, v2 = worlds["v1"], worlds["v2"]
    assert worlds["res_v2"].success, worlds["res_v2"].summary()
    problems, compared = _compare_marts(v1, v2, worlds["first_clock"])
    assert not problems, "\n".join(problems)
    # v1's first build has no price change (one captured version per task); v2 has the history
    changes = "select count(*) from dev_marts_offer_management.fct_offer_task_price_changes"
    assert v1.scalar(changes) == 0 < v2.scalar(changes)
    # every mart of the v1 build took part, and each named loss exists (so the exclusion is needed)
    assert set(V1_LOSES) <= set(compared) and len(compared) >= 10, compared
    mismatch = "select count(*) from dev_marts_core.fct_task_completions where has_amount_mismatch"
    assert v1.scalar(mismatch) > 0 and v2.scalar(mismatch) == 0
    versions = "select count(*) from dev_marts_core.dim_offer_task_versions"
    assert v2.scalar(versions) > v1.scalar(versions)


def test_v2_build_passes_its_tests_and_v2_only_marts_hold_together(worlds):
    v2, res = worlds["v2"], worlds["res_v2"]
    assert res.success, res.summary()
    exp = "dev_marts_offer_experience"
    ran = {n.name for n in res.nodes if n.resource_type == "test" and n.status == "pass"}
    assert any("fct_offer_impression_funnel" in t or "impression_funnel" in t for t in ran), sorted(ran)[:20]

    # the funnel counts every clean, de-duplicated impression and start of the log exactly once
    events = "dev_staging.stg_offerwall_v2__user_offer_events"
    impressions = v2.scalar(f"select count(*) from {events} where event_type = 'offer_impression'")
    starts_from_impressions = v2.scalar(
        f"select count(*) from {events} where event_type = 'offer_started' "
        f"and impression_id in (select impression_id from {events} where event_type = 'offer_impression')"
    )
    funnel = v2.query(f"select sum(impressions), sum(offer_starts), sum(completed_starts) from {exp}.fct_offer_impression_funnel")[0]
    assert (funnel[0], funnel[1]) == (impressions, starts_from_impressions) and impressions > 10_000
    # starts without a completion exist only in v2 (v1 knows a start through a completion)
    assert 0 < funnel[2] < funnel[1]
    # the top of the list converts better than the bottom
    top, low = v2.query(
        f"select sum(case when display_position = 1 then offer_starts end) * 1.0 / sum(case when display_position = 1 then impressions end), "
        f"sum(case when display_position >= 6 then offer_starts end) * 1.0 / sum(case when display_position >= 6 then impressions end) "
        f"from {exp}.fct_offer_impression_funnel"
    )[0]
    assert top > 2 * low

    # reward shown vs earned: the same impressions, split by variant; first_task shows less than it pays
    rp = {r[0]: r[1:] for r in v2.query(
        f"select variant_id, impressions, avg_shown_reward_coins, avg_base_reward_coins, earned_to_shown_ratio "
        f"from {exp}.fct_reward_personalisation"
    )}
    assert set(rp) == {"control", "first_task", "milestone"}
    assert sum(r[0] for r in rp.values()) == impressions
    assert rp["control"][1] == pytest.approx(rp["control"][2])
    assert rp["first_task"][1] < rp["milestone"][1] < rp["first_task"][2]
    assert rp["first_task"][3] > 1 > rp["control"][3]
    # every earned coin is a credited completion's reward in the core fact
    earned = v2.scalar(f"select sum(earned_reward_usd) from {exp}.fct_reward_personalisation")
    credited = v2.scalar(
        "select sum(reward_cost_usd) from dev_marts_core.fct_task_completions where completion_id in ("
        f"select completion_id from {events} where user_offer_id in ("
        f"select user_offer_id from {events} where event_type = 'offer_started' and impression_id is not null))"
    )
    assert earned == credited

    # terms honoured: a change between start and completion is exactly "the two versions differ"
    th = f"{exp}.fct_offer_terms_honoured"
    changed, unhonoured, total = v2.query(
        f"select count(*) filter (where is_terms_changed), count(*) filter (where not is_reward_honoured), count(*) from {th}"
    )[0]
    assert total > 1000 and 0 < unhonoured <= changed < total
    # every completion with a known start is there, except those whose task has no version at
    # the start: an inferred task (never seen in the versions) or one completed before it existed
    known_start = v2.scalar(
        "select count(*) from dev_marts_core.fct_task_completions "
        "where started_at is not null and not is_parent_inferred and not is_before_task_created"
    )
    assert total == known_start


def test_bad_events_are_quarantined_and_copies_dropped(worlds):
    v2 = worlds["v2"]
    disp = "dev_staging.base_offerwall_v2__user_offer_events_dispositioned"
    stored = v2.scalar("select count(*) from raw_v2.user_offer_events")
    counts = dict(v2.query(f"select disposition, count(*) from {disp} group by 1"))
    assert sum(counts.values()) == stored and counts["duplicate"] > 0 and counts["quarantined"] > 0
    reasons = {r[0] for r in v2.query(f"select distinct reason from {disp} where disposition = 'quarantined'")}
    assert {"unknown_event_type", "negative_amount", "absurd_amount", "conflicting_duplicate", "null_key",
            "completed_in_future", "completed_before_started"} <= reasons, reasons
    # one staged row per idempotency key that has any clean copy; copies are never staged twice
    keys = v2.scalar(f"select count(distinct idempotency_key) from {disp} where disposition <> 'quarantined'")
    assert v2.scalar("select count(*) from dev_staging.stg_offerwall_v2__user_offer_events") == keys


def test_erasure_reaches_the_stored_v2_events_incrementally(worlds):
    """The v2 base stores every event (incremental): a user erased after their events were stored
    leaves it on the next plain build, id and IP/device hashes, and the table equals a full
    refresh."""
    tmp: Path = worlds["tmp"]
    base = Relation("base_offerwall_v2__user_offer_events", "dev_staging", "base_offerwall_v2__user_offer_events")
    wh = worlds["v2"].copy_to(tmp / "v2_erase")
    user = wh.scalar(
        f"select user_id from {base.fqn} where device_hash is not null group by 1 order by count(*) desc, 1 limit 1"
    )
    events = wh.scalar(f"select count(*) from {base.fqn} where user_id = ?", [user])
    hashes = {h for (h,) in wh.query(
        f"select distinct device_hash from {base.fqn} where user_id = ? and device_hash is not null "
        f"and device_hash not in (select device_hash from {base.fqn} where user_id <> ? and device_hash is not null)",
        [user, user],
    )}
    wh.offerwall("erase", "--user-id", user, "--requested-at", "2026-01-01 00:00:00")
    res = wh.dbt("build", *NO_TESTS, vars=V2)
    assert res.success, res.summary()
    assert wh.scalar(f"select count(*) from {base.fqn} where user_id = ?", [user]) == 0, "the erased id is still stored"
    if hashes:
        found = wh.scalar(f"select count(*) from {base.fqn} where device_hash in ({', '.join('?' * len(hashes))})",
                          list(hashes))
        assert found == 0, "a device hash only the erased user used is still stored"
    erased = wh.query(f"select user_id, count(*) from {base.fqn} where user_id like 'erased_user_%' group by 1")
    assert [n for _, n in erased] == [events], f"{events} events of {user} -> {erased}"

    full = wh.copy_to(tmp / "v2_erase_full")
    shutil.copy2(wh.db.with_name("ops.duckdb"), full.db.with_name("ops.duckdb"))  # the erasure request
    res = full.dbt("build", "--full-refresh", *NO_TESTS, vars=V2)
    assert res.success, res.summary()
    assert wh.checksum(base) == full.checksum(base), "incremental erasure differs from a full refresh"


def test_after_advance_incremental_equals_full_refresh_and_v1_still_equals_v2(worlds):
    tmp: Path = worlds["tmp"]
    v1, v2 = worlds["v1"], worlds["v2"]
    old_rows = "select count(*), sum(hash(e)) from raw_v2.user_offer_events as e where ingested_at <= ?"
    max_before = v2.scalar("select max(ingested_at) from raw_v2.user_offer_events")
    before = v2.query(old_rows, [max_before])[0]
    stored_before = v2.scalar("select count(*) from dev_staging.base_offerwall_v2__user_offer_events")

    # advance both copies of the world the same way; raw_v2 is appended (the flag defaults to
    # what the source has) and its earlier rows are left as they were
    v2.offerwall("advance", "--days", ADVANCE_DAYS)
    v1.offerwall("advance", "--days", ADVANCE_DAYS, "--source-model", "v1")
    assert v2.query(old_rows, [max_before])[0] == before
    assert v2.scalar("select count(*) from raw_v2.user_offer_events where ingested_at > ?", [max_before]) > 1000

    inc = v2.dbt("build", *NO_TESTS, vars=V2)
    assert inc.success, inc.summary()
    assert v2.scalar("select count(*) from dev_staging.base_offerwall_v2__user_offer_events") > stored_before

    full = v2.copy_to(tmp / "v2_full")
    res = full.dbt("build", "--full-refresh", vars=V2)
    assert res.success, res.summary()
    tables = [*full.mart_relations(), Relation("base_offerwall_v2__user_offer_events", "dev_staging",
                                                "base_offerwall_v2__user_offer_events")]
    diffs = [t.name for t in tables if v2.checksum(t) != full.checksum(t)]
    assert not diffs, diffs

    # an incremental rerun with nothing new changes nothing
    again = v2.dbt("build", *NO_TESTS, vars=V2)
    assert again.success, again.summary()
    assert [t.name for t in tables if v2.checksum(t) != full.checksum(t)] == []

    # the v1 warehouse (its snapshots now hold two captures) still equals v2 up to V1_LOSES
    res1 = v1.dbt("build", *NO_TESTS)
    assert res1.success, res1.summary()
    problems, _ = _compare_marts(v1, v2, worlds["first_clock"])
    assert not problems, "\n".join(problems)
    # the price changes made during the advance were compared (v1 now has some)
    assert v1.scalar("select count(*) from dev_marts_offer_management.fct_offer_task_price_changes") > 0
