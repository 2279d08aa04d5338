"""Guarantees 1 and 2: the warehouse gives the same answers whichever way it gets there.

1. Incremental equals full refresh: generate, build, then several rounds of `offerwall advance`
   + `dbt build` (about 100 simulated days: chargebacks 30-90 days after crediting, reward and
   payout edits, disabled tasks, duplicates, late rows), then a byte copy of that warehouse (same
   raw, same snapshot history) is rebuilt with `--full-refresh`. Every mart must be identical,
   compared by order-independent checksums (row count + sum of the hash of each row's text over
   all columns).
2. Idempotent: a second `dbt build` on unchanged sources changes no table dbt writes (models,
   incrementals, snapshots, seeds; data tests write nothing, so the rebuild skips them).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dbt_harness import NO_TESTS, Warehouse, baseline_warehouse, compare_warehouses, shared_project

GENERATE = {"users": 1500, "days": 40, "seed": 23, "bad_rate": 0.01, "fraud_rate": 0.03}
ADVANCE_DAYS = (20, 20, 20)  # 40 + 60 = 100 simulated days: past the 90-day chargeback window
# The incremental builds run models, snapshots and seeds (NO_TESTS); the data tests run on the
# final full-refresh build.
LATE_CHARGEBACK = dt.timedelta(days=30)


def _record_round(history: Path, wh: Warehouse, round_no: int) -> None:
    """Keep what raw looked like after this round (ids, statuses, task amounts) in a side file."""
    with duckdb.connect(str(history)) as con:
        con.execute(f"attach '{wh.db}' as src (read_only)")
        con.execute(
            f"create table user_offers_{round_no} as "
            "select id, status, updated_at from src.raw.user_offers where id is not null"
        )
        con.execute(
            f"create table offer_tasks_{round_no} as "
            "select id, reward_coins, payout_cents, status, updated_at from src.raw.offer_tasks where id is not null"
        )
        con.execute("detach src")


def _change_stats(history: Path, wh: Warehouse, rounds: int) -> dict[str, int]:
    """How much of each kind of change the rounds produced (so the comparison proves something)."""
    stats: dict[str, int] = {}
    with duckdb.connect(str(history)) as con:
        con.execute(f"attach '{wh.db}' as src (read_only)")
        earlier_credited = " union all ".join(
            f"select id, updated_at from user_offers_{r} where status = 'credited'" for r in range(rounds)
        )
        stats["chargebacks_30d_after_credit"] = con.execute(
            f"""
            select count(distinct final.id)
            from user_offers_{rounds} as final
            join ({earlier_credited}) as credited on credited.id = final.id
            where final.status = 'reversed'
                and final.updated_at >= credited.updated_at + interval '{LATE_CHARGEBACK.days} days'
            """
        ).fetchone()[0]
        changes = " union all ".join(
            f"""
            select after.id, before.reward_coins <> after.reward_coins or before.payout_cents <> after.payout_cents as amount_edit,
                   before.status = 'active' and after.status = 'disabled' as disabled
            from offer_tasks_{r} as before join offer_tasks_{r + 1} as after on before.id = after.id
            """
            for r in range(rounds)
        )
        stats["task_amount_edits"], stats["tasks_disabled"] = con.execute(
            f"select count(distinct case when amount_edit then id end), count(distinct case when disabled then id end) from ({changes})"
        ).fetchone()
        stats["duplicate_ids"] = con.execute(
            "select count(*) from (select id from src.raw.user_offers where id is not null group by id having count(*) > 1)"
        ).fetchone()[0]
        stats["rows_loaded_a_day_late"] = con.execute(
            "select count(*) from src.raw.user_offers where _loaded_at > completed_at + interval '1 day'"
        ).fetchone()[0]
    return stats


def test_incremental_equals_full_refresh(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    inc = Warehouse(shared_project(tmp_path_factory), tmp_path / "incremental")
    history = tmp_path / "history.duckdb"

    inc.generate(**GENERATE)
    first = inc.dbt("build", *NO_TESTS)
    assert first.success, first.summary()
    _record_round(history, inc, 0)

    marts = inc.mart_relations()
    assert marts, "no marts in the manifest"
    materialized = {rel.name: rel.materialized for rel in marts}
    assert materialized.get("fct_task_completions") == "incremental", (
        f"fct_task_completions must be incremental for this test to mean anything: {materialized}"
    )

    for round_no, days in enumerate(ADVANCE_DAYS, start=1):
        inc.advance(days)
        _record_round(history, inc, round_no)
        res = inc.dbt("build", *NO_TESTS)
        assert res.success, f"round {round_no}: {res.summary()}"
        node = res.node("fct_task_completions")
        assert node is not None and node.status == "success", f"round {round_no}: {node}"

    stats = _change_stats(history, inc, len(ADVANCE_DAYS))
    missing = {name: n for name, n in stats.items() if n == 0}
    assert not missing, f"the rounds did not exercise {sorted(missing)} (all changes: {stats})"

    full = inc.copy_to(tmp_path / "full_refresh")
    res = full.dbt("build", "--full-refresh")
    assert res.success, res.summary()
    assert {r.name for r in full.mart_relations()} == {r.name for r in marts}

    problems = compare_warehouses(inc, full, marts)
    assert not problems, (
        f"{len(problems)} of {len(marts)} marts differ between incremental and full refresh "
        f"(changes exercised: {stats}):\n" + "\n".join(problems)
    )


def test_build_is_idempotent(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    base, first = baseline_warehouse(tmp_path_factory)
    assert first.success, first.summary()
    tables = base.stateful_relations()
    assert any(rel.name == "fct_task_completions" for rel in tables), [r.name for r in tables]
    again = base.copy_to(tmp_path / "again")
    res = again.dbt("build", *NO_TESTS)  # data tests write nothing: models, snapshots and seeds do
    assert res.success, res.summary()
    problems = compare_warehouses(base, again, tables)
    assert not problems, (
        f"{len(problems)} of {len(tables)} tables changed on a rebuild of unchanged sources:\n" + "\n".join(problems)
    )
