"""`offerwall generate/advance --source-model v2`: the raw_v2 tables of the same world, without dbt.

Same seed, same bytes; v1's raw is unchanged by emitting v2; versions hold the simulator's whole
edit history with the raw row as the latest version; every replicated status row is an event;
`advance` only appends; the CLI says in one line when raw_v2 is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from offerwall.source_v2.contract import V2_TABLES

OFFERWALL = str(Path(sys.executable).with_name("offerwall"))
GEN = ["generate", "--users", "400", "--days", "21", "--seed", "9", "--bad-rate", "0.02", "--fraud-rate", "0.05"]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DUCKDB_PATH"}
    return subprocess.run([OFFERWALL, *args], capture_output=True, text=True, timeout=300, env=env)


def _ok(*args: str) -> None:
    out = _run(*args)
    assert out.returncode == 0, out.stderr


def _sums(db: Path, schema: str, tables) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"select count(*), sum(hash(t)) from {schema}.{t} as t").fetchone() for t in tables}


@pytest.fixture(scope="module")
def v2db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("v2gen") / "wh.duckdb"
    _ok(*GEN, "--duckdb", str(db), "--source-model", "v2")
    return db


def test_same_seed_same_v2_bytes_and_v1_raw_untouched(v2db, tmp_path):
    again, plain = tmp_path / "again.duckdb", tmp_path / "plain.duckdb"
    _ok(*GEN, "--duckdb", str(again), "--source-model", "v2")
    _ok(*GEN, "--duckdb", str(plain))
    assert _sums(v2db, "raw_v2", V2_TABLES) == _sums(again, "raw_v2", V2_TABLES)
    raw = ("offers", "offer_tasks", "user_offers", "users", "ua_spend_daily")
    assert _sums(v2db, "raw", raw) == _sums(plain, "raw", raw)
    with duckdb.connect(str(plain), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.schemata where schema_name = 'raw_v2'").fetchone()[0] == 0


def test_versions_are_the_whole_history_with_the_raw_row_last(v2db):
    with duckdb.connect(str(v2db), read_only=True) as con:
        # one version per edit the simulator made, per task
        per_task = con.execute("""
            select count(*) from (
                select task_id, count(*) as n from sim.task_versions group by 1
            ) as s
            full join (
                select offer_task_id, count(distinct version_number) as n from raw_v2.offer_task_versions group by 1
            ) as v on s.task_id = v.offer_task_id
            where s.n is distinct from v.n
        """).fetchone()[0]
        assert per_task == 0
        edited = con.execute("select count(distinct offer_task_id) from raw_v2.offer_task_versions where version_number > 1").fetchone()[0]
        assert edited > 20
        # the latest version is the raw row (bad ones included), value for value
        latest_differs = con.execute("""
            with latest as (
                select * from raw_v2.offer_task_versions
                qualify version_number = max(version_number) over (partition by offer_task_id)
            )
            select count(*) from raw.offer_tasks as r
            where not exists (
                select 1 from latest as l
                where l.offer_task_id = r.id and l.offer_id is not distinct from r.offer_id
                    and l.reward_coins = r.reward_coins and l.payout_cents = r.payout_cents
                    and l.status = r.status and l.valid_from = r.updated_at
            )
        """).fetchone()[0]
        assert latest_differs == 0
        # valid_from strictly rises with the version number
        assert con.execute("""
            select count(*) from (
                select valid_from <= lag(valid_from) over (partition by offer_task_id order by version_number) as bad
                from (select distinct offer_task_id, version_number, valid_from from raw_v2.offer_task_versions)
            ) where bad
        """).fetchone()[0] == 0
        # offers: one version per status an offer went through
        assert con.execute("""
            select count(*) from sim.offers as o
            where (select count(*) from raw_v2.offer_versions as v where v.offer_id = o.offer_id)
                <> 1 + (o.status <> 'active')::int + (o.status = 'ended' and o.inactive_from < o.updated_at)::int
        """).fetchone()[0] == 0


def test_every_replicated_row_is_an_event_and_copies_share_the_key(v2db):
    with duckdb.connect(str(v2db), read_only=True) as con:
        missing = con.execute("""
            select count(*) from raw.user_offers as r
            where not exists (
                select 1 from raw_v2.user_offer_events as e
                where e.completion_id = r.id and e.event_time = r.updated_at and e.ingested_at = r._loaded_at
                    and e.reward_coins = r.reward_coins
            )
        """).fetchone()[0]
        assert missing == 0
        # the replica's at-least-once copies are delivered twice under one idempotency key
        dup_keys = con.execute("""
            select count(*) from (select idempotency_key from raw_v2.user_offer_events group by 1 having count(*) > 1)
        """).fetchone()[0]
        assert dup_keys > 10
        # every completion has its task_completed event, even when the replica skipped `pending`
        # (except where that event is a deliberately bad one: its type is then an unknown status)
        no_start = con.execute("""
            select count(distinct completion_id) from raw_v2.user_offer_events
            where completion_id is not null
                and completion_id not in (
                    select completion_id from raw_v2.user_offer_events where event_type = 'task_completed'
                )
                and completion_id not in (
                    select completion_id from raw_v2.user_offer_events
                    where event_type not in ('credited', 'reversed', 'rejected')
                )
        """).fetchone()[0]
        assert no_start == 0
        skipped = con.execute("""
            select count(*) from raw_v2.user_offer_events as e
            where event_type = 'task_completed'
                and not exists (select 1 from raw.user_offers as r where r.id = e.completion_id and r.status = 'pending')
        """).fetchone()[0]
        assert skipped > 0  # states the replica never saw are events in v2
        types = {r[0] for r in con.execute("select distinct event_type from raw_v2.user_offer_events").fetchall()}
        assert {"offer_impression", "offer_started", "task_completed", "credited", "reversed", "rejected"} <= types
        assert con.execute(
            "select count(*) from raw_v2.user_offer_events where event_type in ('reversed', 'rejected') and reason is null"
        ).fetchone()[0] == 0
        assert con.execute("select count(*) from raw_v2.user_offer_events where ingested_at < event_time").fetchone()[0] == 0


def test_advance_appends_and_cli_errors_are_one_line(v2db, tmp_path):
    db = tmp_path / "adv.duckdb"
    db.write_bytes(v2db.read_bytes())
    before = _sums(db, "raw_v2", V2_TABLES)
    with duckdb.connect(str(db), read_only=True) as con:
        clock = con.execute("select clock from sim.state").fetchone()[0]
    out = _run("advance", "--days", "3", "--duckdb", str(db), "--parquet", str(tmp_path / "pq"))
    assert out.returncode == 0, out.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        for table in ("user_offer_events", "offer_task_versions", "offer_versions"):
            ingested = "ingested_at" if table == "user_offer_events" else "_ingested_at"
            old = con.execute(
                f"select count(*), sum(hash(t)) from raw_v2.{table} as t where {ingested} <= ?", [clock]
            ).fetchone()
            assert old == before[table], table
        assert con.execute("select count(*) from raw_v2.user_offer_events where ingested_at > ?", [clock]).fetchone()[0] > 100
    assert sorted(p.name for p in (tmp_path / "pq" / "raw_v2").iterdir()) == sorted(f"{t}.parquet" for t in V2_TABLES)

    # a v1 source cannot be advanced as v2: one line, exit 1
    v1 = tmp_path / "v1.duckdb"
    _ok(*GEN, "--duckdb", str(v1))
    with duckdb.connect(str(v1), read_only=True) as con:
        clock_before = con.execute("select clock from sim.state").fetchone()
    out = _run("advance", "--days", "1", "--duckdb", str(v1), "--source-model", "v2")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    with duckdb.connect(str(v1), read_only=True) as con:  # refused before the source moved
        assert con.execute("select clock from sim.state").fetchone() == clock_before
    assert [line for line in out.stderr.splitlines() if "error" in line] == [out.stderr.strip().splitlines()[-1]]
    assert "--source-model v2" in out.stderr
