"""Guarantee 12: no fact is dropped for its parent (issue 10, reproduction 7).

A completion whose task or offer row is bad, dated in the future or deleted from the replica
stays in fct_task_completions with its own amounts, linked to the parent's last clean version,
or to an inferred member of dim_offer_tasks / dim_offers (is_inferred) when the parent never
had one (the fact flags it is_parent_inferred). A user whose referrer is unknown is kept with
referrer_user_id NULL and has_unknown_referrer. An erased user whose users row was deleted keeps
their completions, anonymised. The completion fact's money equals staging's, row for row, and
fct_ua_cohorts' margin to date equals the fact's for the users with a signup record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt_harness import NO_TESTS, Relation, Warehouse, baseline_warehouse


def model(wh: Warehouse, name: str) -> Relation:
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] in ("model", "snapshot") and node["name"] == name:
            return Relation(node["name"], node["schema"], node.get("alias") or node["name"])
    raise AssertionError(f"{name} not in the manifest")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    wh, build = baseline_warehouse(tmp_path_factory)
    assert build.success, build.summary()
    return wh, build


def test_no_completion_is_quarantined_for_its_parent(baseline: tuple[Warehouse, Any]) -> None:
    wh, _ = baseline
    quar = model(wh, "stg_offerwall__user_offers_quarantine")
    n = wh.scalar(f"select count(*) from {quar.fqn} where reason = 'parent_quarantined'")
    assert n == 0, f"{n} completions quarantined only because their task or offer row is bad"


def test_completions_of_bad_tasks_and_offers_stay_with_their_amounts(baseline: tuple[Warehouse, Any]) -> None:
    wh, _ = baseline
    fct, base = model(wh, "fct_task_completions"), model(wh, "base_offerwall__user_offers")
    # the latest version of each completion that has no defect of its own (staged, or quarantined
    # only for its parent), whose task or offer row is labelled bad
    bad_parent = f"""
        select b.completion_id from {base.fqn} as b
        where (b.disposition = 'staged' or b.reason = 'parent_quarantined')
          and (cast(b.offer_task_id as varchar) in (select row_id from labels.bad_rows where table_name = 'offer_tasks')
            or cast(b.offer_id as varchar) in (select row_id from labels.bad_rows where table_name = 'offers'))
    """
    n_bad = wh.scalar(f"select count(*) from ({bad_parent})")
    assert n_bad > 50, f"the baseline has only {n_bad} clean completions of bad tasks/offers"
    missing = wh.scalar(f"select count(*) from ({bad_parent}) as b where b.completion_id not in (select completion_id from {fct.fqn})")
    assert missing == 0, f"{missing} of {n_bad} completions of bad tasks/offers are missing from the fact"
    inferred = wh.scalar(f"select count(*) from {fct.fqn} where is_parent_inferred")
    assert inferred > 0, "no completion is flagged is_parent_inferred"
    # every fact row links to a dim member; inferred members are flagged
    for dim, key in (("dim_offer_tasks", "offer_task_id"), ("dim_offers", "offer_id")):
        d = model(wh, dim)
        orphans = wh.scalar(f"select count(*) from {fct.fqn} where {key} not in (select {key} from {d.fqn})")
        assert orphans == 0, f"{orphans} completions without a {dim} row"
        assert wh.scalar(f"select count(*) from {d.fqn} where is_inferred") > 0, f"{dim} has no inferred member"
    funnel = model(wh, "fct_offer_task_funnel")
    fct_rev = wh.scalar(f"select sum(revenue_usd) from {fct.fqn}")
    assert wh.scalar(f"select sum(revenue_usd) from {funnel.fqn}") == fct_rev, "funnel revenue != fact revenue"


def test_money_reconciles_row_for_row(baseline: tuple[Warehouse, Any]) -> None:
    wh, _ = baseline
    fct, stg = model(wh, "fct_task_completions"), model(wh, "stg_offerwall__user_offers")
    diff = wh.query(
        f"""
        select coalesce(s.completion_id, f.completion_id), s.payout_usd, f.payout_usd, s.reward_usd, f.reward_usd
        from {stg.fqn} as s full outer join {fct.fqn} as f on s.completion_id = f.completion_id
        where s.completion_id is null or f.completion_id is null
           or s.payout_usd <> f.payout_usd or s.reward_usd <> f.reward_usd
           or f.revenue_usd <> case when s.status = 'credited' then s.payout_usd else 0 end
        limit 5
        """
    )
    assert not diff, f"completions whose money differs between staging and the fact: {diff}"


def test_users_with_an_unknown_referrer_are_kept(baseline: tuple[Warehouse, Any]) -> None:
    """Reproduction 7: 1% of users were quarantined whole for an unknown referrer_user_id."""
    wh, _ = baseline
    labelled = wh.query("select row_id from labels.bad_rows where table_name = 'users' and kind = 'unknown_fk'")
    assert labelled, "the baseline has no user with an unknown referrer"
    dim = model(wh, "dim_users")
    rows = wh.query(
        f"select has_user_record, has_unknown_referrer, referrer_user_id from {dim.fqn} "
        "where user_id in (select row_id from labels.bad_rows where table_name = 'users' and kind = 'unknown_fk')"
    )
    assert len(rows) == len(labelled), f"{len(labelled) - len(rows)} users with an unknown referrer missing from dim_users"
    assert set(rows) == {(True, True, None)}, f"flags of those users: {set(rows)}"


def test_cohort_margin_equals_the_facts(baseline: tuple[Warehouse, Any]) -> None:
    """Reproduction 7: cohort margin total 36,172 vs 36,589 in the fact."""
    wh, _ = baseline
    fct, users = model(wh, "fct_task_completions"), model(wh, "stg_offerwall__users")
    cohorts = model(wh, "fct_ua_cohorts")
    per_cohort = wh.query(
        f"""
        with fact as (
            select u.signup_date, u.acquisition_channel, u.country, u.platform, sum(f.margin_usd) as margin
            from {fct.fqn} as f join {users.fqn} as u on f.user_id = u.user_id
            group by all
        )
        select fact.*, c.margin_usd_to_date from fact
        left join {cohorts.fqn} as c
            on c.cohort_date = fact.signup_date and c.acquisition_channel = fact.acquisition_channel
            and c.country = fact.country and c.platform = fact.platform
        where c.margin_usd_to_date is distinct from fact.margin
        limit 5
        """
    )
    assert not per_cohort, f"cohorts whose margin to date differs from the fact's: {per_cohort}"
    # every user with a signup record: a users row with no defect but, at most, an unknown referrer
    base = model(wh, "base_offerwall__users")
    signups = f"select user_id from {base.fqn} where disposition = 'staged' or reason = 'unknown_fk'"
    total_fact = wh.scalar(f"select sum(f.margin_usd) from {fct.fqn} as f where f.user_id in ({signups})")
    total_cohorts = wh.scalar(f"select sum(margin_usd_to_date) from {cohorts.fqn}")
    assert total_fact == total_cohorts, f"cohorts {total_cohorts} != fact {total_fact}"


def test_a_task_deleted_from_the_replica_keeps_its_completions(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    """Reproduction 7: a task deleted from the replica removed its completions' revenue from every mart."""
    base, _ = baseline
    wh = base.copy_to(tmp_path / "deleted")
    fct = model(base, "fct_task_completions")  # same relation; the copy has no manifest yet
    task, n, revenue = wh.query(
        f"select offer_task_id, count(*), sum(revenue_usd) from {fct.fqn} where offer_task_version_id is not null "
        "group by 1 having sum(revenue_usd) > 0 order by 2 desc limit 1"
    )[0]
    versions = {v for (v,) in wh.query(f"select offer_task_version_id from {fct.fqn} where offer_task_id = ?", [task])}
    wh.execute(f"delete from raw.offer_tasks where id = {task}")
    res = wh.dbt("build", *NO_TESTS)
    assert res.success, res.summary()
    after = wh.query(f"select count(*), sum(revenue_usd) from {fct.fqn} where offer_task_id = ?", [task])[0]
    assert after == (n, revenue), f"task {task}: completions/revenue {n}/{revenue} -> {after}"
    after_versions = {v for (v,) in wh.query(f"select offer_task_version_id from {fct.fqn} where offer_task_id = ?", [task])}
    assert after_versions == versions, "the completions lost their task version"
    dim = model(wh, "dim_offer_tasks")
    assert wh.query(f"select is_inferred from {dim.fqn} where offer_task_id = ?", [task]) == [(True,)]
    perf = model(wh, "fct_offer_daily_performance")
    assert wh.scalar(f"select sum(revenue_usd) from {perf.fqn}") == wh.scalar(f"select sum(revenue_usd) from {fct.fqn}")


def test_erasure_without_a_users_row_keeps_the_completions(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    """Reproduction 7: a users row deleted at erasure removed the user's completions' revenue."""
    base, _ = baseline
    wh = base.copy_to(tmp_path / "erased")
    fct = model(base, "fct_task_completions")  # same relation; the copy has no manifest yet
    user, n, revenue = wh.query(
        f"select user_id, count(*), sum(revenue_usd) from {fct.fqn} group by 1 having sum(revenue_usd) > 0 order by 2 desc, 1 limit 1"
    )[0]
    # the request goes through the source ops.gdpr_erasure_requests (the ops store beside wh)
    wh.offerwall("erase", "--user-id", user, "--requested-at", "2026-01-01 00:00:00")
    with wh.connect() as con:
        con.execute("delete from raw.users where trim(id) = ?", [user])
    res = wh.dbt("build", *NO_TESTS)
    assert res.success, res.summary()
    assert wh.scalar(f"select count(*) from {fct.fqn} where user_id = ?", [user]) == 0, "the erased id is still in the fact"
    erased = wh.query(
        f"select user_id, count(*), sum(revenue_usd) from {fct.fqn} where user_id like 'erased_user_%' group by 1"
    )
    assert [(c, r) for _, c, r in erased] == [(n, revenue)], f"user {user}: {n} completions / {revenue} -> {erased}"
