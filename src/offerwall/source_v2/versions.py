"""Immutable, effective-dated offer and task versions, from the simulator's edit history (sim.*).

A version is a row that never changes; a change is a new row with the next version_number and
its valid_from. The latest version of each offer/task is the raw row itself (so a deliberately bad
raw row is a bad latest version in v2 too); earlier versions come from the simulator's memory:
sim.task_versions (every amount/status edit of a task) and sim.offers (status, created_at,
updated_at and inactive_from give each offer's active -> [paused ->] paused/ended history).
Only versions not yet in raw_v2 are appended, so `advance` adds the new ones and never rewrites;
a version is ingested after the previous run's clock even when v1's replica row claims an earlier
load (v1 `advance` can disable a task at a time before the previous clock: v2 delivers it late).
"""

from __future__ import annotations

from offerwall.source_v2.sql import RAW_V2_SCHEMA, SCHEMA_VERSION, ingested, ts

VERSION_ID_FACTOR = 1000  # version id = entity id * 1000 + version number (fewer than 1000 versions each)

TASK_VERSIONS_SQL = f"""
insert into {RAW_V2_SCHEMA}.offer_task_versions
with
history as (
    select
        task_id,
        valid_from,
        reward_coins,
        payout_cents,
        active,
        row_number() over (partition by task_id order by valid_from, reward_coins, payout_cents) as version_number,
        count(*) over (partition by task_id) as n_versions
    from sim.task_versions
),
earlier as (
    select
        history.task_id * {VERSION_ID_FACTOR} + history.version_number as offer_task_version_id,
        history.task_id as offer_task_id,
        tasks.offer_id,
        history.version_number,
        tasks.position,
        tasks.title,
        tasks.task_type,
        history.reward_coins,
        history.payout_cents,
        case when history.active then 'active' else 'disabled' end as status,
        {ts('history.valid_from')} as valid_from,
        {ts('tasks.created_at')} as created_at,
        {ingested(ts('history.valid_from'), 'tv', 'history.task_id', 'history.version_number')} as _ingested_at
    from history
    inner join sim.offer_tasks as tasks on history.task_id = tasks.task_id
    where history.version_number < history.n_versions
),
latest as (
    select
        raw_tasks.id * {VERSION_ID_FACTOR} + history.n_versions as offer_task_version_id,
        raw_tasks.id as offer_task_id,
        raw_tasks.offer_id,
        cast(history.n_versions as integer) as version_number,
        raw_tasks.position,
        raw_tasks.title,
        raw_tasks.task_type,
        raw_tasks.reward_coins,
        raw_tasks.payout_cents,
        raw_tasks.status,
        raw_tasks.updated_at as valid_from,
        raw_tasks.created_at,
        greatest(raw_tasks._loaded_at, getvariable('v2_floor') + interval 1 microsecond) as _ingested_at
    from raw.offer_tasks as raw_tasks
    inner join (select distinct task_id, n_versions from history) as history
        on raw_tasks.id = history.task_id
),
emitted as (
    select * from earlier
    union all
    select * from latest
)
select
    offer_task_version_id, offer_task_id, offer_id, version_number, position, title, task_type,
    reward_coins, payout_cents, status, valid_from, created_at, {SCHEMA_VERSION}, _ingested_at
from emitted
where offer_task_version_id not in (select offer_task_version_id from {RAW_V2_SCHEMA}.offer_task_versions)
"""

# sim.offers: status is the current one; inactive_from the first time it stopped being active.
OFFER_VERSIONS_SQL = f"""
insert into {RAW_V2_SCHEMA}.offer_versions
with
history as (
    select offer_id, 1 as version_number, created_at as valid_from, 'active' as status, platforms, countries
    from sim.offers
    union all
    select offer_id, 2, inactive_from, 'paused', platforms, countries
    from sim.offers
    where status = 'ended' and inactive_from < updated_at
    union all
    select offer_id, case when status = 'ended' and inactive_from < updated_at then 3 else 2 end,
        updated_at, status, platforms, countries
    from sim.offers
    where status <> 'active'
),
counted as (
    select *, max(version_number) over (partition by offer_id) as n_versions
    from history
),
emitted as (
    select
        counted.offer_id * {VERSION_ID_FACTOR} + counted.version_number as offer_version_id,
        counted.offer_id,
        cast(counted.version_number as integer) as version_number,
        raw_offers.name,
        raw_offers.advertiser,
        raw_offers.provider,
        raw_offers.category,
        -- the latest version is the raw row as it is (bad ones included); earlier ones the clean history
        case when counted.version_number = counted.n_versions then raw_offers.platforms else counted.platforms end
            as platforms,
        case when counted.version_number = counted.n_versions then raw_offers.countries else counted.countries end
            as countries,
        case when counted.version_number = counted.n_versions then raw_offers.status else counted.status end
            as status,
        case when counted.version_number = counted.n_versions then raw_offers.updated_at
            else {ts('counted.valid_from')} end as valid_from,
        raw_offers.created_at,
        case when counted.version_number = counted.n_versions
            then greatest(raw_offers._loaded_at, getvariable('v2_floor') + interval 1 microsecond)
            else {ingested(ts('counted.valid_from'), 'ov', 'counted.offer_id', 'counted.version_number')}
        end as _ingested_at
    from counted
    inner join raw.offers as raw_offers on counted.offer_id = raw_offers.id
)
select
    offer_version_id, offer_id, version_number, name, advertiser, provider, category, platforms,
    countries, status, valid_from, created_at, {SCHEMA_VERSION}, _ingested_at
from emitted
where offer_version_id not in (select offer_version_id from {RAW_V2_SCHEMA}.offer_versions)
"""
