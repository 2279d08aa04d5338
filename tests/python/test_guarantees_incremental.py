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
from typing import Any

import duckdb
import pytest
import yaml
from dbt_harness import NO_TESTS, Relation, Warehouse, baseline_warehouse, compare_warehouses, shared_project

GENERATE = {"users": 1500, "days": 40, "seed": 23, "bad_rate": 0.01, "fraud_rate": 0.03}
ADVANCE_DAYS = (20, 20, 20)  # 40 + 60 = 100 simulated days: past the 90-day chargeback window
# The incremental builds run models, snapshots and seeds (NO_TESTS); the data tests run on the
# final full-refresh build.
LATE_CHARGEBACK = dt.timedelta(days=30)
# models whose incremental path this test proves (more may be incremental: all are compared)
INCREMENTAL_MODELS = (
    "fct_task_completions", "base_offerwall__user_offers", "int_task_completions_versioned",
    "int_user_completion_stats", "int_user_task_type_minutes", "int_user_coactivity_evidence",
)  # fmt: skip


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

    # every mart, and every incremental model of the other layers (the base tables)
    marts = inc.mart_relations()
    assert marts, "no marts in the manifest"
    mart_names = {rel.name for rel in marts}
    marts += [
        rel for rel in inc.relations(folder="models/", resource_types=("model",))
        if rel.materialized == "incremental" and rel.name not in mart_names
    ]
    materialized = {rel.name: rel.materialized for rel in marts}
    for name in INCREMENTAL_MODELS:
        assert materialized.get(name) == "incremental", (
            f"{name} must be incremental for this test to mean anything: {materialized}"
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
    assert {r.name for r in full.mart_relations()} == mart_names

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


ACCEPT_LOAD = {"accept_raw_load": True}
COACTIVITY_MINUTES = yaml.safe_load((Path(__file__).parents[2] / "dbt_project.yml").read_text())["vars"][
    "fraud_graph_coactivity_minutes"
]


def _model(wh: Warehouse, name: str) -> Relation:
    return next(rel for rel in wh.relations(folder="models/", resource_types=("model",)) if rel.name == name)


def test_incremental_base_redecides_rows_whose_parents_change(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The incremental base of user_offers re-decides completions that get no new row of their own:
    one waiting for its user (quarantined unknown_fk until the users row arrives, loaded after the
    completion left the lookback window) and those of a task moved to another offer and back.
    Every incremental model and mart then equals a full refresh."""
    base, first = baseline_warehouse(tmp_path_factory)
    assert first.success, first.summary()
    wh = base.copy_to(tmp_path / "incremental")
    # hand-made loads with no spend rows: the spend-lag guard would (rightly) stop the build
    base_uo, fct = _model(base, "base_offerwall__user_offers"), _model(base, "fct_task_completions")
    late_user = "u_00000000deadbeef"
    # a staged completion to copy, and a task with completions whose offer has another offer to move to
    template_id, template_user = wh.query(
        f"select completion_id, user_id from {fct.fqn} where not is_parent_inferred order by completion_id limit 1"
    )[0]
    task, offer, completions_of_task = wh.query(
        f"select offer_task_id, offer_id, count(*) from {fct.fqn} where not is_parent_inferred "
        "group by 1, 2 order by 3 desc, 1 limit 1"
    )[0]
    other_offer = wh.scalar(f"select min(id) from raw.offers where id <> {offer}")
    t0 = wh.scalar("select max(_loaded_at) from raw.user_offers")

    def load(day: int, *statements: str) -> None:
        """Rows replicated `day` days after t0, plus a filler completion so the watermark moves on."""
        at = f"timestamp '{t0}' + interval {day} day"
        filler = (
            f"insert into raw.user_offers select * replace ((select max(id) + 1 from raw.user_offers) as id, "
            f"{at} - interval 1 hour as completed_at, {at} - interval 1 hour as updated_at, "
            f"{at} - interval 2 hour as started_at, {at} as _loaded_at) from raw.user_offers where id = {template_id}"
        )
        wh.execute(*(s.replace("{at}", at) for s in statements), filler)
        res = wh.dbt("build", *NO_TESTS, vars=ACCEPT_LOAD)
        assert res.success, f"day {day}: {res.summary()}"

    # day 3: a completion of a user the replica has not delivered yet; the task moves to another offer
    load(
        3,
        f"insert into raw.user_offers select * replace ((select max(id) + 1 from raw.user_offers) as id, "
        f"'{late_user}' as user_id, {{at}} as _loaded_at) from raw.user_offers where id = {template_id}",
        f"insert into raw.offer_tasks select * replace ({other_offer} as offer_id, {{at}} as updated_at, "
        f"{{at}} as _loaded_at) from raw.offer_tasks where id = {task} order by updated_at desc limit 1",
    )
    waiting = wh.query(f"select disposition, reason from {base_uo.fqn} where user_id = '{late_user}'")
    assert waiting == [("quarantined", "unknown_fk")], waiting
    moved = wh.scalar(f"select count(*) from {fct.fqn} where offer_task_id = {task}")
    assert moved < completions_of_task, "the completions of a task moved to another offer are still staged"
    load(6)  # the day-3 rows leave the lookback window
    # day 9: the user arrives (no new row of the completion) and the task moves back
    load(
        9,
        f"insert into raw.users select * replace ('{late_user}' as id, {{at}} as _loaded_at) "
        f"from raw.users where id = '{template_user}'",
        f"insert into raw.offer_tasks select * replace ({offer} as offer_id, {{at}} as updated_at, "
        f"{{at}} as _loaded_at) from raw.offer_tasks where id = {task} order by updated_at desc limit 1",
    )
    assert wh.query(f"select disposition from {base_uo.fqn} where user_id = '{late_user}'") == [("staged",)]
    assert wh.scalar(f"select count(*) from {fct.fqn} where user_id = '{late_user}'") == 1
    assert wh.scalar(f"select count(*) from {fct.fqn} where offer_task_id = {task}") >= completions_of_task

    full = wh.copy_to(tmp_path / "full_refresh")
    res = full.dbt("build", "--full-refresh", *NO_TESTS, vars=ACCEPT_LOAD)
    assert res.success, res.summary()
    compared = [rel for rel in wh.relations(folder="models/") if rel.materialized == "incremental"]
    compared += [rel for rel in wh.mart_relations() if rel.materialized != "incremental"]
    problems = compare_warehouses(wh, full, compared)
    assert not problems, "\n".join(problems)


# what the behaviour features read of a completion (int_user_completion_stats' fingerprint columns)
FEATURE_COLUMNS = (
    "completion_id, status, task_type, offer_id, country, device_hash, ip_hash, completed_at, "
    "completed_date, minutes_to_complete"
)


def _completions_by_user(wh: Warehouse, completions: Relation) -> dict[str, frozenset[tuple[Any, ...]]]:
    by_user: dict[str, set[tuple[Any, ...]]] = {}
    for user_id, *row in wh.query(f"select user_id, {FEATURE_COLUMNS} from {completions.fqn}"):
        by_user.setdefault(user_id, set()).add(tuple(row))
    return {user: frozenset(rows) for user, rows in by_user.items()}


def test_incremental_behaviour_features_recompute_exactly_the_touched_users(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The per-user anti-fraud features are incremental by user: a day recomputes the users
    whose completions changed (new, re-versioned, re-joined, gone) and keeps every other user's
    stored row. Every stored row is marked (a value no build writes) before the day: after it,
    an unchanged user still has the mark (kept, not recomputed) and a changed user has the
    value of its completions (recomputed); a user with no completion left is gone. Equality
    with a full refresh is test_incremental_equals_full_refresh's."""
    base, first = baseline_warehouse(tmp_path_factory)
    assert first.success, first.summary()
    completions = _model(base, "int_task_completions_versioned")
    stats, minutes = _model(base, "int_user_completion_stats"), _model(base, "int_user_task_type_minutes")
    features = _model(base, "int_user_behaviour_features")
    wh = base.copy_to(tmp_path / "incremental")
    assert stats.materialized == minutes.materialized == "incremental"

    before = _completions_by_user(wh, completions)
    wh.execute(
        f"update {stats.fqn} set distinct_countries = distinct_countries + 1000",
        f"update {minutes.fqn} set minutes_sum = minutes_sum + 1000 where timed_completions > 0",
    )
    wh.advance(2)
    res = wh.dbt("build", *NO_TESTS)
    assert res.success, res.summary()
    after = _completions_by_user(wh, completions)

    changed = {user for user in after if before.get(user) != after[user]}
    unchanged = set(after) - changed
    gone = set(before) - set(after)
    assert changed and unchanged, f"the day changed {len(changed)} users of {len(after)}: nothing to tell apart"

    true_countries = dict(wh.query(f"select user_id, count(distinct country) from {completions.fqn} group by 1"))
    stored = dict(wh.query(f"select user_id, distinct_countries from {stats.fqn}"))
    featured = dict(wh.query(f"select user_id, distinct_countries from {features.fqn}"))
    assert set(stored) == set(featured) == set(after), "users with a completion and users with features differ"
    assert not gone & set(stored), f"users with no completion left kept: {sorted(gone & set(stored))[:5]}"
    not_kept = {u for u in unchanged if stored[u] != true_countries[u] + 1000 or featured[u] != stored[u]}
    assert not not_kept, f"{len(not_kept)} untouched users were recomputed, e.g. {sorted(not_kept)[:5]}"
    not_recomputed = {u for u in changed if stored[u] != true_countries[u] or featured[u] != stored[u]}
    assert not not_recomputed, f"{len(not_recomputed)} touched users were not recomputed, e.g. {sorted(not_recomputed)[:5]}"

    true_sums = {
        (user, task_type): total
        for user, task_type, total in wh.query(
            f"select user_id, task_type, sum(minutes_to_complete) from {completions.fqn} "
            "where minutes_to_complete is not null group by 1, 2"
        )
    }
    for user, task_type, total in wh.query(
        f"select user_id, task_type, minutes_sum from {minutes.fqn} where timed_completions > 0"
    ):
        expected = true_sums[(user, task_type)] + (1000 if user in unchanged else 0)
        assert total == expected, (user, task_type, total, expected, user in unchanged)


def _completions_by_task_day(wh: Warehouse, completions: Relation) -> dict[tuple[Any, Any, str], frozenset[tuple[Any, ...]]]:
    """What co-activity reads of each (task, day)'s completions (id, user, completed_at): of the
    whole day ('day'), of its first window ('head') and of its last ('tail')."""
    window = COACTIVITY_MINUTES * 60
    by_day: dict[tuple[Any, Any, str], set[tuple[Any, ...]]] = {}
    for task, day, completion_id, user_id, completed_at in wh.query(
        f"select offer_task_id, completed_date, completion_id, user_id, completed_at from {completions.fqn} "
        "where completed_at is not null"
    ):
        second_of_day = completed_at.hour * 3600 + completed_at.minute * 60 + completed_at.second
        parts = ["day"] + ["head"] * (second_of_day <= window) + ["tail"] * (second_of_day >= 86400 - window)
        for part in parts:
            by_day.setdefault((task, day, part), set()).add((completion_id, user_id, completed_at))
    return {key: frozenset(rows) for key, rows in by_day.items()}


def test_incremental_coactivity_recomputes_exactly_the_touched_days(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The co-activity evidence is incremental by (task, day): a day recomputes the (task, day)s
    whose completions changed (new, erased, gone, moved in time), the day before one whose first
    window changed and the day after one whose last window changed (a pair spans at most one
    midnight, from those windows), and keeps every other stored row. Before the day, each stored
    (task, day) gets a made-up pair (a row no build writes, with the day's stored fingerprint):
    after it, the mark is still there on exactly the days not recomputed. Equality with a full
    refresh is test_incremental_equals_full_refresh's."""
    base, first = baseline_warehouse(tmp_path_factory)
    assert first.success, first.summary()
    completions, evidence = _model(base, "int_task_completions_versioned"), _model(base, "int_user_coactivity_evidence")
    assert evidence.materialized == "incremental"
    wh = base.copy_to(tmp_path / "incremental")

    before = _completions_by_task_day(wh, completions)
    stored_days = set(wh.query(f"select distinct offer_task_id, coactive_date from {evidence.fqn}"))
    days_before = {(task, day) for task, day, part in before if part == "day"}
    assert stored_days == days_before, "the stored (task, day)s are not the (task, day)s with completions"
    wh.execute(  # the day's stored counts and fingerprints copied: the mark changes no (task, day)
        f"insert into {evidence.fqn} by name select distinct * replace (offer_task_id || '|' || coactive_date "
        "|| '|mark' as evidence_key, '~mark_a' as user_a_id, '~mark_b' as user_b_id) from " + evidence.fqn
    )
    wh.advance(2)
    res = wh.dbt("build", *NO_TESTS)
    assert res.success, res.summary()
    after = _completions_by_task_day(wh, completions)

    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    shifts = {"day": 0, "head": -1, "tail": 1}  # a changed head changes the day before's pairs
    recomputed = {(task, day + dt.timedelta(days=shifts[part])) for task, day, part in changed}
    touched = {(task, day) for task, day, part in changed if part == "day"}
    assert recomputed - touched, "no changed head or tail: the neighbour rule is not exercised"
    kept = stored_days - recomputed
    assert touched and kept, f"the day touched {len(touched)} of {len(stored_days)} (task, day)s: nothing to tell apart"
    marked = set(wh.query(f"select offer_task_id, coactive_date from {evidence.fqn} where user_a_id = '~mark_a'"))
    assert not marked - kept, f"{len(marked - kept)} recomputed (task, day)s kept the mark, e.g. {sorted(marked - kept)[:5]}"
    assert not kept - marked, f"{len(kept - marked)} untouched (task, day)s were recomputed, e.g. {sorted(kept - marked)[:5]}"
    days_after = {(task, day) for task, day, part in after if part == "day"}
    assert set(wh.query(f"select distinct offer_task_id, coactive_date from {evidence.fqn}")) == days_after
