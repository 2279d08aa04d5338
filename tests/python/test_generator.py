"""The source-system simulator (`offerwall generate` / `offerwall advance`) against its contract.

Small data only: every generate here takes well under a second.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from offerwall import OfferwallError
from offerwall.generator import advance, generate
from offerwall.raw_io import RAW_TABLES

SMALL = dict(users=1500, days=45, seed=11, fraud_rate=0.05, start=dt.date(2026, 1, 1))
USER_OFFER_KINDS = {
    "null_key", "unknown_fk", "negative_amount", "absurd_amount", "completed_before_started",
    "completed_in_future", "unknown_status", "conflicting_duplicate",
}
ALL_KINDS = USER_OFFER_KINDS | {"malformed_json"}
FRAUD_TYPES = {"device_farm", "bot", "velocity", "chargeback_abuser", "country_hopper"}
LEGAL_STATUSES = ("pending", "credited", "reversed", "rejected")
# legal moves between two consecutive replica rows of one completion (a replica may skip pending)
LEGAL_MOVES = {
    ("pending", "pending"), ("pending", "credited"), ("pending", "rejected"), ("credited", "credited"),
    ("credited", "reversed"), ("reversed", "reversed"), ("rejected", "rejected"),
}


def _gen(path: Path, bad_rate: float, **overrides) -> Path:
    args = {**SMALL, **overrides}
    generate(bad_rate=bad_rate, duckdb_path=path, parquet_dir=None, **args)
    return path


@pytest.fixture(scope="module")
def messy_db(tmp_path_factory) -> Path:
    return _gen(tmp_path_factory.mktemp("gen_messy") / "wh.duckdb", bad_rate=0.03)


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory) -> Path:
    return _gen(tmp_path_factory.mktemp("gen_clean") / "wh.duckdb", bad_rate=0.0)


@pytest.fixture(scope="module")
def advanced(tmp_path_factory, messy_db) -> tuple[Path, Path]:
    """(before, after): a copy of the messy source, and that copy advanced twice (20 + 15 days)."""
    d = tmp_path_factory.mktemp("gen_adv")
    before = d / "before.duckdb"
    after = d / "after.duckdb"
    shutil.copy(messy_db, before)
    shutil.copy(messy_db, after)
    advance(days=20, duckdb_path=after)
    advance(days=15, duckdb_path=after)
    return before, after


def _q(path: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _one(path: Path, sql: str):
    return _q(path, sql)[0][0]


def _checksums(path: Path, schemas=("raw", "labels", "sim")) -> dict:
    """Row count and md5 of the ordered content of every table of the given schemas."""
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2", list(schemas)
        ).fetchall()
        for schema, table in tables:
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [schema, table]).fetchall()]
            row = ", ".join(f'"{c}"' for c in cols)
            out[(schema, table)] = con.execute(
                f"select count(*), md5(coalesce(string_agg(r, '\n' order by r), '')) "
                f"from (select ({row})::varchar as r from {schema}.{table})"
            ).fetchall()[0]
    return out


# --- determinism -----------------------------------------------------------------------------------
def test_same_flags_same_data(tmp_path, messy_db):
    again = _gen(tmp_path / "again.duckdb", bad_rate=0.03)
    a, b = _checksums(messy_db), _checksums(again)
    assert set(a) >= {("raw", t) for t in RAW_TABLES} | {("labels", "fraud_users"), ("labels", "bad_rows")}
    assert a == b


def test_other_seed_other_data(tmp_path, messy_db):
    other = _gen(tmp_path / "other.duckdb", bad_rate=0.03, seed=12)
    assert _checksums(messy_db)[("raw", "user_offers")] != _checksums(other)[("raw", "user_offers")]


def test_parquet_export_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        generate(bad_rate=0.01, duckdb_path=tmp_path / f"{name}.duckdb", parquet_dir=tmp_path / name,
                 **{**SMALL, "users": 300, "days": 10})
    for table in RAW_TABLES:
        a = (tmp_path / "a" / f"{table}.parquet").read_bytes()
        assert a == (tmp_path / "b" / f"{table}.parquet").read_bytes(), table
        assert len(a) > 0


# --- contract ---------------------------------------------------------------------------------------
def test_raw_tables_have_exact_contract_columns_and_types(messy_db):
    got = _q(messy_db, "select table_name from information_schema.tables where table_schema = 'raw' order by 1")
    assert sorted(t for (t,) in got) == sorted(RAW_TABLES), "raw holds the five tables and nothing else"
    for table, columns in RAW_TABLES.items():
        cols = _q(messy_db, "select column_name, data_type from information_schema.columns "
                            "where table_schema = 'raw' and table_name = ? order by ordinal_position", [table])
        assert cols == [(c, t) for c, t, _ in columns], table
        assert _one(messy_db, f"select count(*) from raw.{table}") > 0, table


def test_every_loaded_at_is_at_or_before_the_clock(advanced):
    for path in advanced:
        clock = _one(path, "select clock from sim.state")
        for table in RAW_TABLES:
            assert _one(path, f"select max(_loaded_at) from raw.{table}") <= clock, table


def test_clock_is_start_plus_days(messy_db):
    state = json.loads(_one(messy_db, "select params from sim.state"))
    assert _one(messy_db, "select clock from sim.state") == dt.datetime(2026, 2, 15)
    assert state["seed"] == SMALL["seed"] and state["days"] == SMALL["days"]


def test_rerun_replaces_raw_labels_sim_and_keeps_other_schemas(tmp_path):
    path = tmp_path / "wh.duckdb"
    _gen(path, bad_rate=0.01, users=300, days=10)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema analytics")
        con.execute("create table analytics.keep_me as select 42 as answer")
        con.execute("create table raw.stray as select 1 as x")
    _gen(path, bad_rate=0.0, users=200, days=5)
    assert _one(path, "select answer from analytics.keep_me") == 42
    assert _one(path, "select count(*) from information_schema.tables where table_schema='raw' and table_name='stray'") == 0
    assert _one(path, "select count(*) from raw.users") == 200
    assert _one(path, "select count(*) from labels.bad_rows") == 0


# --- realistic shape --------------------------------------------------------------------------------
def test_catalogue_shape(messy_db):
    clean = "id not in (select row_id::bigint from labels.bad_rows where table_name = 'offer_tasks')"
    n_offers, n_providers, n_categories = _q(
        messy_db, "select count(*), count(distinct provider), count(distinct lower(trim(category))) from raw.offers")[0]
    assert n_offers >= 100 and n_providers >= 5 and n_categories >= 5
    # messy category text exists, but only as case/space variants of a few categories
    assert _one(messy_db, "select count(*) from raw.offers where category <> lower(trim(category))") > 0
    lo, hi = _q(messy_db, f"select min(n), max(n) from (select offer_id, count(*) n from raw.offer_tasks "
                          f"where {clean} group by 1)")[0]
    assert lo >= 1 and hi <= 20 and hi >= 8
    # rewards rise with position inside each offer (current values of never-edited tasks)
    assert _one(messy_db, f"""
        select count(*) from (
            select reward_coins < lag(reward_coins) over (partition by offer_id order by position) as drops
            from sim.offer_tasks where created_at = updated_at) where drops""") == 0
    # purchase and deposit tasks are rare and valuable
    share, ratio = _q(messy_db, f"""
        select avg((task_type in ('purchase', 'deposit'))::int),
               avg(reward_coins) filter (where task_type in ('purchase', 'deposit'))
               / avg(reward_coins) filter (where task_type = 'install')
        from raw.offer_tasks where {clean}""")[0]
    assert share < 0.15 and ratio > 10


def test_completion_shape(clean_db):
    # funnel drops by position
    by_pos = _q(clean_db, """select t.position, count(distinct u.id) from raw.user_offers u
                             join raw.offer_tasks t on t.id = u.offer_task_id group by 1 order by 1""")
    counts = [n for _, n in by_pos[:4]]
    assert counts == sorted(counts, reverse=True) and counts[0] > 2 * counts[2]
    # typical margin 20-50% on credited completions, and some margin-negative tasks
    margin = _one(clean_db, """select 1 - sum(reward_coins) / 10.0 / sum(payout_cents) from raw.user_offers
                               where status = 'credited'""")
    assert 0.2 <= margin <= 0.5
    assert _one(clean_db, "select count(*) from raw.offer_tasks where reward_coins / 10.0 > payout_cents") > 0
    # heavy-tailed activity: the top 1% of users do far more than the median user
    p50, p99 = _q(clean_db, """select quantile_cont(n, 0.5), quantile_cont(n, 0.99)
                               from (select user_id, count(distinct id) n from raw.user_offers group by 1)""")[0]
    assert p99 > 8 * p50
    # weekly seasonality: weekend days busier than midweek
    weekend, midweek = _q(clean_db, """select count(distinct started_at) filter (where dayofweek(started_at) in (0, 6)),
                                              count(distinct started_at) filter (where dayofweek(started_at) in (2, 3))
                                       from raw.user_offers""")[0]
    assert weekend > 1.1 * midweek
    # time to complete is plausible per task type: installs in minutes, levels in hours to days
    med = dict(_q(clean_db, """
        select t.task_type, median(epoch(u.completed_at - u.started_at) / 60)
        from raw.user_offers u join raw.offer_tasks t on t.id = u.offer_task_id
        where u.user_id not in (select user_id from labels.fraud_users) group by 1"""))
    assert med["install"] < 15 and med["level"] > 60 and med["purchase"] > med["install"] * 20
    # a completion's own amounts differ from its task's current values for some (edits in place)
    assert _one(clean_db, """select count(*) from raw.user_offers u join raw.offer_tasks t on t.id = u.offer_task_id
                             where u.reward_coins <> t.reward_coins or u.payout_cents <> t.payout_cents""") > 0


def test_users_channels_referrals_and_spend(clean_db):
    channels = {c for (c,) in _q(clean_db, "select distinct acquisition_channel from raw.users")}
    assert channels == {"organic", "referral", "google_ads", "meta", "tiktok", "apple_search_ads"}
    assert _one(clean_db, """select count(*) from raw.users
                             where (referrer_user_id is not null) <> (acquisition_channel = 'referral')""") == 0
    # a referrer is an earlier user
    assert _one(clean_db, """select count(*) from raw.users u left join raw.users r on r.id = u.referrer_user_id
                             where u.referrer_user_id is not null and (r.id is null or r.created_at > u.created_at)""") == 0
    assert _one(clean_db, "select count(distinct country) from raw.users") >= 10
    spend_channels = {c for (c,) in _q(clean_db, "select distinct channel from raw.ua_spend_daily")}
    assert spend_channels == {"google_ads", "meta", "tiktok", "apple_search_ads"}
    # spend follows the users a cell brought: CAC differs per channel; some cells bought nothing
    cac = dict(_q(clean_db, """
        with u as (select created_at::date d, acquisition_channel c, country, platform, count(*) n
                   from raw.users group by all)
        select s.channel, sum(s.spend_usd) / sum(u.n) from raw.ua_spend_daily s
        join u on u.d = s.spend_date and u.c = s.channel and u.country = s.country and u.platform = s.platform
        group by 1"""))
    assert cac["apple_search_ads"] > cac["tiktok"] * 1.5
    assert _one(clean_db, """select count(*) from raw.ua_spend_daily s where not exists (
        select 1 from raw.users u where u.created_at::date = s.spend_date and u.acquisition_channel = s.channel
        and u.country = s.country and u.platform = s.platform)""") > 0


# --- mess -------------------------------------------------------------------------------------------
DIRECT_CHECKS = {
    # kind -> (table, SQL returning the ids of rows that show it)
    "null_key": ("user_offers", "select id from raw.user_offers where user_id is null or offer_task_id is null"),
    "unknown_fk": ("user_offers", """select id from raw.user_offers u where offer_task_id is not null and (
        offer_task_id not in (select id from raw.offer_tasks)
        or (user_id is not null and user_id not in (select id from raw.users)))"""),
    "negative_amount": ("user_offers", "select id from raw.user_offers where reward_coins < 0 or payout_cents < 0"),
    "absurd_amount": ("user_offers", "select id from raw.user_offers where reward_coins >= 1e9 or payout_cents >= 1e9"),
    "completed_before_started": ("user_offers", "select id from raw.user_offers where completed_at < started_at"),
    "completed_in_future": ("user_offers", "select id from raw.user_offers where completed_at > _loaded_at"),
    "unknown_status": ("user_offers", f"select id from raw.user_offers where status not in {LEGAL_STATUSES}"),
    "conflicting_duplicate": ("user_offers", """select id from raw.user_offers group by id, updated_at, _loaded_at
        having count(distinct (reward_coins, payout_cents)) > 1"""),
    "malformed_json": ("offers", """select id from raw.offers
        where (platforms is not null and not coalesce(json_valid(platforms), false))
           or (countries is not null and not coalesce(json_valid(countries), false))"""),
}


@pytest.mark.parametrize("kind", sorted(DIRECT_CHECKS))
def test_each_mess_kind_present_labelled_and_real(messy_db, kind):
    table, sql = DIRECT_CHECKS[kind]
    labelled = {r for (r,) in _q(messy_db, "select row_id from labels.bad_rows where table_name = ? and kind = ?",
                                 [table, kind])}
    found = {str(r) for (r,) in _q(messy_db, sql)}
    assert labelled, f"no {kind} rows labelled"
    assert labelled <= found, f"labelled {kind} rows that do not show it: {sorted(labelled - found)[:5]}"
    all_bad = {r for (r,) in _q(messy_db, "select row_id from labels.bad_rows where table_name = ?", [table])}
    assert found <= all_bad, f"unlabelled rows show {kind}: {sorted(found - all_bad)[:5]}"


def test_mess_in_every_table_and_rate_near_bad_rate(messy_db):
    kinds = _q(messy_db, "select table_name, kind, count(*) from labels.bad_rows group by all")
    tables = {t for t, _, _ in kinds}
    assert tables == {"offers", "offer_tasks", "user_offers", "users", "ua_spend_daily"}
    assert {k for _, k, _ in kinds} == ALL_KINDS
    share = _one(messy_db, """select (select count(*) from labels.bad_rows where table_name = 'user_offers')
                                     / (select count(*) from raw.user_offers)""")
    assert 0.015 <= share <= 0.05  # --bad-rate 0.03


@pytest.mark.parametrize("kind", sorted(DIRECT_CHECKS))
def test_no_bad_rows_at_bad_rate_zero(clean_db, kind):
    assert _one(clean_db, "select count(*) from labels.bad_rows") == 0
    table, sql = DIRECT_CHECKS[kind]
    assert _q(clean_db, sql) == [], kind


def test_other_bad_values_absent_at_zero(clean_db):
    assert _one(clean_db, "select count(*) from raw.offer_tasks where offer_id is null or reward_coins < 0 "
                          "or payout_cents < 0 or offer_id not in (select id from raw.offers) "
                          "or status not in ('active', 'disabled')") == 0
    assert _one(clean_db, "select count(*) from raw.offers where status not in ('active', 'paused', 'ended')") == 0
    assert _one(clean_db, "select count(*) from raw.users where referrer_user_id not in (select id from raw.users)") == 0
    assert _one(clean_db, "select count(*) from raw.ua_spend_daily where spend_usd < 0 or spend_usd > 1e6") == 0


def test_normal_replication_mess_happens_even_at_bad_rate_zero(clean_db):
    # the same id again with a later updated_at (a status change)
    assert _one(clean_db, "select count(*) from (select id from raw.user_offers group by id "
                          "having count(distinct updated_at) > 1)") > 100
    # exact duplicate rows
    assert _one(clean_db, "select count(*) - (select count(*) from (select distinct * from raw.user_offers)) "
                          "from raw.user_offers") > 10
    # late arrivals: completed days before the row was copied
    assert _one(clean_db, "select count(*) from raw.user_offers where status = 'pending' "
                          "and _loaded_at > completed_at + interval 1 day") > 10
    # text case/space noise
    assert _one(clean_db, "select count(*) from raw.user_offers where country <> upper(trim(country))") > 10
    assert _one(clean_db, "select count(*) from raw.user_offers "
                          "where device_platform <> lower(trim(device_platform))") > 10
    # JSON targeting: NULL or [] = worldwide, valid JSON otherwise
    assert _one(clean_db, "select count(*) from raw.offers where countries is null") > 0
    assert _one(clean_db, "select count(*) from raw.offers where countries = '[]'") > 0
    assert _one(clean_db, "select count(*) from raw.offers where json_array_length(countries) > 0") > 0


# --- fraud ------------------------------------------------------------------------------------------
def test_fraud_labels_outside_raw_each_type_present(messy_db):
    types = dict(_q(messy_db, "select fraud_type, count(*) from labels.fraud_users group by 1"))
    assert set(types) == FRAUD_TYPES
    assert _one(messy_db, "select count(*) - count(distinct user_id) from labels.fraud_users") == 0
    assert _one(messy_db, "select count(*) from labels.fraud_users where user_id not in (select id from raw.users)") == 0
    # no raw table carries a label
    raw_cols = {c for (c,) in _q(messy_db, "select column_name from information_schema.columns where table_schema='raw'")}
    assert not {c for c in raw_cols if "fraud" in c or "label" in c or "bad" in c}


def test_fraud_patterns_are_visible_in_raw(messy_db):
    """Each fraud type shows its documented pattern; legit users mostly don't."""
    stats = dict((r[0], r[1:]) for r in _q(messy_db, """
        with l as (select * from raw.user_offers
                   where id not in (select row_id::bigint from labels.bad_rows where table_name = 'user_offers')
                   qualify row_number() over (partition by id order by updated_at desc, _loaded_at desc) = 1),
        dev as (select device_hash, count(distinct user_id) n from l group by 1),
        per_user as (
            select l.user_id, coalesce(f.fraud_type, 'legit') ft,
                   max(dev.n) dev_users,
                   count(*) filter (where t.task_type in ('level', 'purchase', 'deposit', 'signup')
                                    and l.completed_at < l.started_at + interval 2 minute)
                     / greatest(count(*) filter (where t.task_type in ('level', 'purchase', 'deposit', 'signup')), 1) fast,
                   count(*) / count(distinct l.completed_at::date) per_day,
                   count(*) filter (where l.status = 'reversed')
                     / greatest(count(*) filter (where l.status in ('credited', 'reversed')), 1) rev,
                   count(distinct upper(trim(l.country))) countries
            from l join raw.offer_tasks t on t.id = l.offer_task_id
            left join labels.fraud_users f on f.user_id = l.user_id
            join dev on dev.device_hash = l.device_hash
            group by all)
        select ft, median(dev_users), median(fast), median(per_day), median(rev), median(countries),
               max(dev_users), max(fast), max(countries)
        from per_user group by 1"""))
    legit = stats["legit"]
    assert stats["device_farm"][0] >= 5 and legit[5] <= 2
    assert stats["bot"][1] >= 0.9 and legit[1] < 0.05
    assert stats["velocity"][2] >= 15 and legit[2] <= 3
    assert stats["chargeback_abuser"][3] >= 0.5 and legit[3] < 0.05
    assert stats["country_hopper"][4] >= 5 and legit[7] <= 2


# --- advance ----------------------------------------------------------------------------------------
def test_advance_moves_the_clock_and_adds_data(advanced):
    before, after = advanced
    c0, c1 = _one(before, "select clock from sim.state"), _one(after, "select clock from sim.state")
    assert c1 - c0 == dt.timedelta(days=35)
    for table in RAW_TABLES:
        assert _one(after, f"select count(*) from raw.{table}") > _one(before, f"select count(*) from raw.{table}"), table
    assert _one(after, "select count(*) from labels.fraud_users") > _one(before, "select count(*) from labels.fraud_users")


def test_device_farms_stay_separate_across_advances(advanced):
    _, after = advanced
    assert _one(after, "select count(distinct farm_group) from sim.users where signup_at >= "
                       "(select min(signup_at) from sim.users) + 45 * 86400000000 and farm_group >= 0") > 0
    farms = _q(after, """select farm_group, count(*), max(signup_at) - min(signup_at)
                         from sim.users where farm_group >= 0 group by 1""")
    for group, size, spread_us in farms:
        assert 5 <= size <= 80, (group, size)
        assert spread_us <= 3 * 86_400_000_000, group  # one burst of signups, not two farms merged


def test_advance_is_append_only_for_user_offers_and_users(advanced):
    before, after = advanced
    with duckdb.connect(str(after), read_only=True) as con:
        con.execute(f"attach '{before}' as b (read_only)")
        for table in ("user_offers", "users", "ua_spend_daily"):
            missing = con.execute(f"select count(*) from (select * from b.raw.{table} except all "
                                  f"select * from raw.{table})").fetchall()[0][0]
            assert missing == 0, table


def test_advance_keeps_ids_and_never_moves_updated_at_back(advanced):
    before, after = advanced
    with duckdb.connect(str(after), read_only=True) as con:
        con.execute(f"attach '{before}' as b (read_only)")
        for table in ("offers", "offer_tasks"):
            lost = con.execute(f"select count(*) from (select id from b.raw.{table} except select id from raw.{table})")
            assert lost.fetchall()[0][0] == 0, table
            back = con.execute(f"""select count(*) from b.raw.{table} o join raw.{table} n using (id)
                                   where n.updated_at < o.updated_at or n._loaded_at < o._loaded_at""").fetchall()[0][0]
            assert back == 0, table
            edited = con.execute(f"""select count(distinct id) from b.raw.{table} o join raw.{table} n using (id)
                                     where n.updated_at > o.updated_at""").fetchall()[0][0]
            assert edited > 0, f"advance edited no {table}"
            new_ids = con.execute(f"select min(id) from (select id from raw.{table} except select id from b.raw.{table})")
            assert new_ids.fetchall()[0][0] > con.execute(f"select max(id) from b.raw.{table} where id < 900000000").fetchall()[0][0]
        # tasks edited in place: reward/payout changed or disabled
        changes = con.execute("""select count(*) filter (where n.reward_coins <> o.reward_coins or n.payout_cents <> o.payout_cents),
                                        count(*) filter (where n.status = 'disabled' and o.status <> 'disabled')
                                 from b.raw.offer_tasks o join raw.offer_tasks n using (id)""").fetchall()[0]
        assert changes[0] > 0


def test_user_offers_status_moves_are_legal_and_updated_at_never_goes_back(advanced):
    _, after = advanced
    moves = _q(after, """
        with r as (select distinct id, status, updated_at, _loaded_at from raw.user_offers
                   where id not in (select row_id::bigint from labels.bad_rows where table_name = 'user_offers'))
        select prev, status, count(*), count(*) filter (where updated_at < prev_updated) from (
            select status, updated_at,
                   lag(status) over (partition by id order by _loaded_at, updated_at) prev,
                   lag(updated_at) over (partition by id order by _loaded_at, updated_at) prev_updated
            from r) where prev is not null group by all""")
    assert moves, "no status changes at all"
    for prev, status, n, back in moves:
        assert (prev, status) in LEGAL_MOVES, (prev, status, n)
        assert back == 0, (prev, status)
    assert {(p, s) for p, s, _, _ in moves} >= {("pending", "credited"), ("credited", "reversed"), ("pending", "rejected")}
    # one id never becomes two different completions
    assert _one(after, """select count(*) from (select id from raw.user_offers
        where id not in (select row_id::bigint from labels.bad_rows where table_name = 'user_offers')
        group by id having count(distinct (user_id, offer_task_id, completed_at)) > 1)""") == 0


def test_chargebacks_within_90_days_of_crediting(advanced):
    _, after = advanced
    assert _one(after, "select count(*) from sim.credits where reversed_at > credited_at + interval 90 day") == 0
    assert _one(after, "select count(*) from sim.credits where reversed_at <= credited_at") == 0
    # in raw: the reversed row comes at most 90 days after the credited row of the same completion
    late = _one(after, """select count(*) from raw.user_offers r join raw.user_offers c using (id)
                          where r.status = 'reversed' and c.status = 'credited'
                            and r.updated_at > c.updated_at + interval 90 day""")
    assert late == 0
    # and raw agrees with the simulator's own credit times
    assert _one(after, """select count(*) from raw.user_offers u join sim.credits s using (id)
                          where u.status = 'credited' and u.updated_at <> s.credited_at
                          and u.id not in (select row_id::bigint from labels.bad_rows where table_name = 'user_offers')""") == 0


def test_advance_brings_pending_credits_and_old_chargebacks(advanced):
    before, after = advanced
    c0 = _one(before, "select clock from sim.state")
    new = dict(_q(after, "select status, count(*) from raw.user_offers where _loaded_at > ? group by 1", [c0]))
    assert new.get("pending", 0) > 0 and new.get("credited", 0) > 0 and new.get("reversed", 0) > 0
    # reversals of completions credited before the advance, some 30-90 days after crediting
    old_cb = _q(after, """
        select count(*) from raw.user_offers u join sim.credits s using (id)
        where u.status = 'reversed' and u._loaded_at > ? and s.credited_at < ?
          and s.reversed_at > s.credited_at + interval 30 day""", [c0, c0])[0][0]
    assert old_cb > 0
    # a decent share of completions is still pending at the clock
    pending_share = _one(after, """select avg((status = 'pending')::int) from (select * from raw.user_offers
        qualify row_number() over (partition by id order by updated_at desc, _loaded_at desc) = 1)""")
    assert pending_share >= 0.02


def test_advance_is_deterministic(tmp_path, messy_db, advanced):
    _, after = advanced
    again = tmp_path / "again.duckdb"
    shutil.copy(messy_db, again)
    advance(days=20, duckdb_path=again)
    advance(days=15, duckdb_path=again)
    assert _checksums(again, ("raw", "labels")) == _checksums(after, ("raw", "labels"))


def test_advance_without_a_source_is_a_clear_error(tmp_path):
    with pytest.raises(OfferwallError, match="not found"):
        advance(days=1, duckdb_path=tmp_path / "missing.duckdb")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(OfferwallError, match="offerwall generate"):
        advance(days=1, duckdb_path=empty)


@pytest.mark.parametrize("kwargs", [dict(users=0), dict(days=0), dict(bad_rate=1.5), dict(fraud_rate=-0.1),
                                    dict(seed=-1)])
def test_generate_rejects_bad_arguments(tmp_path, kwargs):
    args = {**SMALL, "bad_rate": 0.0, **kwargs}
    with pytest.raises(OfferwallError):
        generate(duckdb_path=tmp_path / "x.duckdb", parquet_dir=None, **args)


def test_advance_at_bad_rate_zero_stays_clean(tmp_path, clean_db):
    path = tmp_path / "clean_adv.duckdb"
    shutil.copy(clean_db, path)
    advance(days=10, duckdb_path=path)
    assert _one(path, "select count(*) from labels.bad_rows") == 0
    for kind, (_, sql) in DIRECT_CHECKS.items():
        assert _q(path, sql) == [], kind


def test_a_failed_generate_is_not_a_source(tmp_path, monkeypatch):
    import offerwall.generator.windows as windows

    calls = []

    def failing_keep_state(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full, say")
        return original(*args, **kwargs)

    original = windows.keep_state
    monkeypatch.setattr(windows, "keep_state", failing_keep_state)
    path = tmp_path / "half.duckdb"
    with pytest.raises(RuntimeError, match="disk full"):
        generate(bad_rate=0.0, duckdb_path=path, parquet_dir=None, **{**SMALL, "users": 300, "days": 20})
    assert _one(path, "select count(*) from information_schema.tables where table_schema = 'sim' "
                      "and table_name = 'state'") == 0
    with pytest.raises(OfferwallError, match="offerwall generate"):
        advance(days=1, duckdb_path=path)


def test_advance_refuses_a_file_of_another_generator_version(tmp_path):
    path = tmp_path / "old.duckdb"
    generate(bad_rate=0.0, duckdb_path=path, parquet_dir=None, **{**SMALL, "users": 200, "days": 5})
    with duckdb.connect(str(path)) as con:
        params = json.loads(con.execute("select params from sim.state").fetchone()[0])
        params["generator_version"] = 1
        con.execute("update sim.state set params = ?", [json.dumps(params)])
    with pytest.raises(OfferwallError, match="generator version 1.*run `offerwall generate` again"):
        advance(days=1, duckdb_path=path)
