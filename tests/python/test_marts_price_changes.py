"""fct_offer_task_price_changes on a known change: `offerwall advance` edits task prices in raw;
the snapshot captures the new version on the next build and the mart shows the change with the
price before and after, and the completions around it counted from the fact.
"""

from __future__ import annotations

import pytest

from dbt_harness import Warehouse, shared_project

OM = '"dev_marts_offer_management"'
CORE = '"dev_marts_core"'
BUILD = ("build", "--exclude", "resource_type:test", "resource_type:unit_test")


def _prices(wh: Warehouse) -> dict[int, tuple[int, int]]:
    rows = wh.query(
        """
        select id, payout_cents, reward_coins from raw.offer_tasks
        qualify row_number() over (partition by id order by updated_at desc, _loaded_at desc) = 1
        """
    )
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.fixture(scope="module")
def advanced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, dict, dict]:
    wh = Warehouse(shared_project(tmp_path_factory), tmp_path_factory.mktemp("price") / "wh")
    wh.generate(users=1500, days=30, seed=7)
    res = wh.dbt(*BUILD)
    assert res.success, res.summary()
    assert wh.scalar(f"select count(*) from {OM}.fct_offer_task_price_changes") == 0  # first build: one version
    before = _prices(wh)
    wh.advance(days=14)
    after = _prices(wh)
    res = wh.dbt(*BUILD)
    assert res.success, res.summary()
    return wh, before, after


def test_each_known_price_change_is_one_row_with_old_and_new_price(advanced) -> None:
    wh, before, after = advanced
    changed = {t: (before[t], after[t]) for t in before if t in after and before[t] != after[t]}
    assert changed, "advance edited no task price: the test has nothing to check"
    rows = wh.query(
        f"""
        select offer_task_id, previous_payout_cents, payout_cents, previous_reward_coins, reward_coins,
            is_payout_change, is_reward_change
        from {OM}.fct_offer_task_price_changes
        """
    )
    got = {r[0]: r for r in rows}
    assert set(got) == set(changed)
    for task, ((old_payout, old_reward), (new_payout, new_reward)) in changed.items():
        row = got[task]
        assert row[1:5] == (old_payout, new_payout, old_reward, new_reward), (task, row)
        assert row[5] == (old_payout != new_payout) and row[6] == (old_reward != new_reward)


def test_window_counts_match_the_fact(advanced) -> None:
    wh, _, _ = advanced
    mismatches = wh.scalar(
        f"""
        select count(*) from {OM}.fct_offer_task_price_changes as changes
        where completions_after <> (
                select count(*) from {CORE}.fct_task_completions as c
                where c.offer_task_id = changes.offer_task_id
                    and c.completed_date >= changes.changed_date
                    and c.completed_date < changes.changed_date + changes.days_before
            )
            or completions_before <> (
                select count(*) from {CORE}.fct_task_completions as c
                where c.offer_task_id = changes.offer_task_id
                    and c.completed_date >= changes.changed_date - changes.days_before
                    and c.completed_date < changes.changed_date
            )
        """
    )
    assert mismatches == 0
    assert wh.scalar(f"select count(*) from {OM}.fct_offer_task_price_changes where days_after between 1 and 7") > 0
