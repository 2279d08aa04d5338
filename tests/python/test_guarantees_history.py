"""Guarantee 3: history.

The source edits tasks in place (only updated_at moves); the snapshots are the only history. A
reward/payout edit between two snapshot runs gives the task a second version; completions before
the edit join the old version, completions after it the new one (by completed_at, however late
the row arrives); fct_task_completions' amounts and margins are the completion's own, not the
task's current ones, and a completion whose amounts differ from its version is flagged.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import NO_TESTS, Relation, Warehouse, baseline_warehouse

COINS_PER_USD = Decimal(1000)
CENTS_PER_USD = Decimal(100)
REWARD_EDIT = 150  # coins added to the task's reward by the edit
PAYOUT_EDIT = 40  # cents added to its payout


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Any]:
    return baseline_warehouse(tmp_path_factory)


def _model(wh: Warehouse, name: str) -> Relation:
    for node in wh.manifest()["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name:
            return Relation(node["name"], node["schema"], node.get("alias") or node["name"], node["config"]["materialized"])
    raise AssertionError(f"model {name} not in the manifest")


def _rows(wh: Warehouse, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with wh.connect(read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def test_reward_edit_between_snapshots_gives_two_versions(baseline: tuple[Warehouse, Any], tmp_path: Path) -> None:
    wh, build = baseline
    assert build.success, build.summary()
    fct, versions = _model(wh, "fct_task_completions"), _model(wh, "dim_offer_task_versions")
    watermark = wh.scalar("select max(_loaded_at) from raw.user_offers")

    # an active, clean task with exactly one raw row and credited completions, last edited well before now
    task = _rows(
        wh,
        f"""
        select t.id, t.reward_coins, t.payout_cents, t.updated_at
        from raw.offer_tasks as t
        join {versions.fqn} as v on v.offer_task_id = t.id and v.is_current
        where t.status = 'active' and t.updated_at < ? - interval 2 day
            and t.id not in (select cast(row_id as bigint) from labels.bad_rows where table_name = 'offer_tasks')
            and (select count(*) from raw.offer_tasks as d where d.id = t.id) = 1
            and (select count(*) from {fct.fqn} as c where c.offer_task_id = t.id and c.status = 'credited') >= 1
        order by t.id
        limit 1
        """,
        [watermark],
    )
    assert task, "no task fit for the edit (active, clean, credited completions)"
    task = task[0]
    task_id = task["id"]
    old_versions = _rows(wh, f"select * from {versions.fqn} where offer_task_id = ? order by valid_from", [task_id])
    old_fct = {r["completion_id"]: r for r in _rows(wh, f"select * from {fct.fqn} where offer_task_id = ?", [task_id])}

    # the edit lands between two snapshot runs (the baseline build was the first)
    edit_at = watermark + dt.timedelta(minutes=10)
    loaded_at = watermark + dt.timedelta(hours=1)
    new_coins, new_cents = task["reward_coins"] + REWARD_EDIT, task["payout_cents"] + PAYOUT_EDIT
    old_coins, old_cents = task["reward_coins"], task["payout_cents"]
    template = wh.scalar(
        f"select min(completion_id) from {fct.fqn} where offer_task_id = ? and status = 'credited'", [task_id]
    )
    next_id = wh.scalar("select max(id) from raw.user_offers") + 1
    # (name, completed_at, status, reward_coins, payout_cents)
    completions = [
        ("before_edit_late_row", edit_at - dt.timedelta(hours=1), "credited", old_coins, old_cents),
        ("after_edit", edit_at + dt.timedelta(minutes=15), "credited", new_coins, new_cents),
        ("after_edit_old_amounts", edit_at + dt.timedelta(minutes=16), "credited", old_coins, old_cents),
        ("after_edit_pending", edit_at + dt.timedelta(minutes=17), "pending", new_coins, new_cents),
    ]
    ids = {name: next_id + i for i, (name, *_rest) in enumerate(completions)}

    copy = wh.copy_to(tmp_path / "edited")
    with copy.connect() as con:
        con.execute(
            "update raw.offer_tasks set reward_coins = ?, payout_cents = ?, updated_at = ?, _loaded_at = ? where id = ?",
            [new_coins, new_cents, edit_at, loaded_at, task_id],
        )
        for name, completed_at, status, coins, cents in completions:
            con.execute(
                """
                insert into raw.user_offers
                select * replace (
                    ? as id, ? as status, ? as reward_coins, ? as payout_cents,
                    ? as started_at, ? as completed_at, ? as updated_at, ? as _loaded_at
                )
                from raw.user_offers where id = ?
                qualify row_number() over (order by updated_at desc, _loaded_at desc) = 1
                """,
                [
                    ids[name], status, coins, cents, completed_at - dt.timedelta(minutes=10), completed_at,
                    completed_at + dt.timedelta(minutes=5), loaded_at, template,
                ],
            )
    res = copy.dbt("build", *NO_TESTS)  # checked row by row below
    assert res.success, res.summary()

    # two versions where there was one: the old one closes at the edit, the new one opens there
    new_versions = _rows(copy, f"select * from {versions.fqn} where offer_task_id = ? order by valid_from", [task_id])
    assert len(new_versions) == len(old_versions) + 1, (old_versions, new_versions)
    previous, current = new_versions[-2], new_versions[-1]
    assert previous["offer_task_version_id"] == old_versions[-1]["offer_task_version_id"]
    assert previous["valid_to"] == edit_at and current["valid_from"] == edit_at, (previous, current)
    assert current["valid_to"] is None and current["is_current"] and not previous["is_current"]
    assert (previous["reward_coins"], current["reward_coins"]) == (old_coins, new_coins)
    assert current["payout_usd"] == Decimal(new_cents) / CENTS_PER_USD

    # completions join the version valid at their completed_at, however late the row arrived
    got = {r["completion_id"]: r for r in _rows(copy, f"select * from {fct.fqn} where offer_task_id = ?", [task_id])}
    expected_version = {
        "before_edit_late_row": previous["offer_task_version_id"],
        "after_edit": current["offer_task_version_id"],
        "after_edit_old_amounts": current["offer_task_version_id"],
        "after_edit_pending": current["offer_task_version_id"],
    }
    for name, *_rest in completions:
        assert ids[name] in got, f"completion {name} ({ids[name]}) missing from fct_task_completions"
        assert got[ids[name]]["offer_task_version_id"] == expected_version[name], (name, got[ids[name]])
    # completions from before the edit keep their version and their amounts
    changed = [cid for cid, row in old_fct.items() if got.get(cid) != row]
    assert not changed, f"completions from before the edit changed: {[(old_fct[c], got.get(c)) for c in changed[:3]]}"

    # amounts and margins are the completion's own
    for name, _completed_at, status, coins, cents in completions:
        row = got[ids[name]]
        payout_usd, reward_usd = Decimal(cents) / CENTS_PER_USD, Decimal(coins) / COINS_PER_USD
        credited = status == "credited"
        expected = {
            "payout_usd": payout_usd,
            "reward_usd": reward_usd,
            "revenue_usd": payout_usd if credited else 0,
            "reward_cost_usd": reward_usd if credited else 0,
            "margin_usd": payout_usd - reward_usd if credited else 0,
            "has_amount_mismatch": name == "after_edit_old_amounts",
        }
        actual = {k: row[k] for k in expected}
        assert {k: _num(v) for k, v in actual.items()} == {k: _num(v) for k, v in expected.items()}, (name, actual, expected)


def _num(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    return round(Decimal(str(value)), 6)
