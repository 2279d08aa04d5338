"""The append-only user-offer event log (raw_v2.user_offer_events), from the v1 replica rows of this run.

Completion events: every raw.user_offers row replicated in this run is the event of its status
(pending -> task_completed, credited, reversed, rejected), with the same payload, event_time =
its updated_at and ingested_at = its _loaded_at: the same world, delivered at the same times, so
the projection "latest event per completion" equals v1's "latest row per id". The replica's
at-least-once copies stay (same idempotency key), its bad rows stay bad (they are quarantined by
the v2 staging as they are by v1's). A state the replica skipped (credited before the pending row
was copied) is an event in v2: task_completed is added, delivered with the first row seen.

Experience events (what v1 never recorded), seeded: for every new offer start of a clean completion,
the display session it came from (a list of offers at positions in a placement, each with the
reward shown under the user's experiment variant), the offer_started event, and, from the other
offers shown, starts that were abandoned (no task ever completed: invisible to v1).
"""

from __future__ import annotations

from offerwall.source_v2.sql import RAW_V2_SCHEMA, SCHEMA_VERSION, ingested, pick, u

EXPERIMENT_ID = "reward_display_2026"
VARIANTS = ["control", "first_task", "milestone"]  # shown: all tasks' coins / the first task's / tasks 1-3
PLACEMENTS = ["offerwall_list"] * 11 + ["home_featured"] * 5 + ["push"] * 2 + ["search"] * 2
REVERSAL_REASONS = ["chargeback", "advertiser_clawback", "fraud_confirmed"]
REJECTION_REASONS = ["device_shared", "velocity_limit", "vpn_detected", "duplicate_account"]
ABANDON_SHARE = 0.06  # other offers shown in a session that the user started and never completed a task of
BROWSE_SHARE = 0.4  # starts preceded by an earlier session in which nothing was started
DUPLICATE_SHARE = 0.01  # experience events delivered twice by the relay (at-least-once)

_EVENT_COLUMNS = """
    idempotency_key, event_type, schema_version, event_time, ingested_at, user_id, offer_id, offer_version_id,
    user_offer_id, impression_id, completion_id, offer_task_id, offer_task_version_id, reward_coins,
    payout_cents, started_at, completed_at, country, device_platform, ip_hash, device_hash, reason, placement,
    position, shown_reward_coins, base_reward_coins, experiment_id, variant_id
"""


def user_offer_key(user_id: str, offer_id: str, started_at: str) -> str:
    return f"'uo_' || substr(md5(concat_ws('|', {user_id}, {offer_id}, epoch_us({started_at}))), 1, 16)"


# raw.user_offers rows replicated in this run (the run's window of _loaded_at)
BATCH_SQL = """
create or replace temp table v2_batch as
select *, row_number() over (order by _loaded_at, id, updated_at, status, reward_coins, payout_cents) as rn
from raw.user_offers
where _loaded_at > getvariable('v2_floor') and _loaded_at <= getvariable('v2_clock')
"""

COMPLETION_EVENTS_SQL = f"""
insert into {RAW_V2_SCHEMA}.user_offer_events ({_EVENT_COLUMNS})
with
typed as (
    select
        *,
        case status
            when 'pending' then 'task_completed'
            when 'credited' then 'credited'
            when 'reversed' then 'reversed'
            when 'rejected' then 'rejected'
            else status
        end as event_type
    from v2_batch
),
-- the first row ever replicated of a completion that never had a `pending` row: the replica skipped it
history as (
    select id, min(_loaded_at) as first_loaded, bool_or(status = 'pending') as had_pending
    from raw.user_offers
    where id in (select id from v2_batch)
    group by id
),
first_rows as (
    select typed.* exclude (first_no)
    from (
        select *, row_number() over (partition by id order by _loaded_at, rn) as first_no
        from typed
    ) as typed
    inner join history on typed.id = history.id
    where typed.first_no = 1
        and typed._loaded_at = history.first_loaded
        and not history.had_pending
        and typed.status in ('credited', 'rejected')
),
events as (
    select *, updated_at as event_time, _loaded_at as ingested_at from typed
    union all
    select * replace ('task_completed' as event_type), least(completed_at, updated_at), _loaded_at from first_rows
)
select
    'c' || events.id || ':' || events.event_type as idempotency_key,
    events.event_type,
    {SCHEMA_VERSION},
    events.event_time,
    events.ingested_at,
    events.user_id,
    events.offer_id,
    null,
    case when events.started_at is not null
        then {user_offer_key('events.user_id', 'events.offer_id', 'events.started_at')} end,
    null,
    events.id,
    events.offer_task_id,
    versions.offer_task_version_id,
    events.reward_coins,
    events.payout_cents,
    events.started_at,
    events.completed_at,
    upper(trim(events.country)),
    lower(trim(events.device_platform)),
    events.ip_hash,
    events.device_hash,
    case events.event_type
        when 'reversed' then {pick('rev', REVERSAL_REASONS, 'events.id')}
        when 'rejected' then {pick('rej', REJECTION_REASONS, 'events.id')}
    end,
    null, null, null, null, null, null
from events
asof left join (select distinct offer_task_id, valid_from, offer_task_version_id
                from {RAW_V2_SCHEMA}.offer_task_versions) as versions
    on events.offer_task_id = versions.offer_task_id and events.completed_at >= versions.valid_from
"""

# offer starts of clean completions replicated in this run that have no offer_started event yet
NEW_STARTS_SQL = f"""
create or replace temp table v2_starts as
with
clean as (
    select *
    from v2_batch
    where started_at is not null
        and started_at <= completed_at
        and status in ('pending', 'credited', 'reversed', 'rejected')
        and id not in (
            select try_cast(row_id as bigint) from labels.bad_rows where table_name = 'user_offers'
        )
),
starts as (
    select
        {user_offer_key('user_id', 'offer_id', 'started_at')} as user_offer_id,
        user_id,
        offer_id,
        started_at
    from clean
    group by all
)
select
    starts.*,
    {pick('var', VARIANTS, 'starts.user_id')} as variant_id,
    {pick('pl', PLACEMENTS, 'starts.user_offer_id')} as placement,
    'se_' || substr(md5(starts.user_offer_id || '|session'), 1, 16) as session_id,
    starts.started_at - to_microseconds(cast(10000000 + {u('disp', 'starts.user_offer_id')} * 590000000 as bigint))
        as displayed_at
from starts
where user_offer_id not in (
    select user_offer_id from {RAW_V2_SCHEMA}.user_offer_events where event_type = 'offer_started'
)
"""

# display sessions: the session a start came from (the started offer at a position drawn towards the
# top) and, for some starts, an earlier session in which nothing was started
SESSIONS_SQL = f"""
create or replace temp table v2_impressions as
with
sessions as (
    select
        session_id, user_id, variant_id, placement, displayed_at, offer_id as started_offer_id,
        user_offer_id, true as converting
    from v2_starts
    union all
    select
        'se_' || substr(md5(user_offer_id || '|browse'), 1, 16),
        user_id,
        variant_id,
        {pick('plb', PLACEMENTS, 'user_offer_id')},
        started_at - to_microseconds(cast(3600e6 * (1 + {u('brt', 'user_offer_id')} * 71) as bigint)),
        null,
        null,
        false
    from v2_starts
    where {u('br', 'user_offer_id')} < {BROWSE_SHARE}
),
sized as (
    select
        *,
        case variant_id
            when 'control' then 6 + {u('k', 'session_id')} * 7
            when 'first_task' then 5 + {u('k', 'session_id')} * 6
            else 6 + {u('k', 'session_id')} * 9
        end::integer as n_shown
    from sessions
),
placed as (
    select
        *,
        case when converting then least(n_shown, 1 + floor(-ln(1 - {u('p', 'session_id')}) / 0.45))::integer
        end as started_position
    from sized
),
shown as (
    select
        placed.*,
        unnest(range(1, n_shown + 1)) as position
    from placed
),
offered as (
    select
        shown.*,
        case when shown.position = shown.started_position then shown.started_offer_id
            else 1 + {u('o', 'shown.session_id', 'shown.position')}
                * (select max(id) from raw.offers)::bigint
        end::bigint as offer_id,
        shown.displayed_at + shown.position * interval 1 millisecond as impression_time,
        'im_' || substr(md5(shown.session_id || '|' || shown.position), 1, 16) as impression_id
    from shown
),
versioned as (
    select offered.*, versions.offer_version_id, versions.status as offer_status
    from offered
    asof left join {RAW_V2_SCHEMA}.offer_versions as versions
        on offered.offer_id = versions.offer_id and offered.impression_time >= versions.valid_from
)
select versioned.* exclude (offer_status, started_offer_id, n_shown)
from versioned
inner join raw.users as users on versioned.user_id = users.id
where versioned.position = versioned.started_position
    or (
        versioned.offer_status = 'active'
        and versioned.offer_id is distinct from versioned.started_offer_id
        and versioned.impression_time >= users.created_at
    )
"""

# the reward each impression showed: the offer's active tasks' coins at display time (task versions),
# personalised by the user's variant
SHOWN_REWARD_SQL = f"""
create or replace temp table v2_shown as
with
tasks as (
    select task_id as offer_task_id, offer_id, position from sim.offer_tasks
),
pairs as (
    select impressions.impression_id, impressions.impression_time, tasks.offer_task_id, tasks.position
    from v2_impressions as impressions
    inner join tasks on impressions.offer_id = tasks.offer_id
),
valued as (
    select pairs.*, versions.reward_coins, versions.status
    from pairs
    asof left join (
        select offer_task_id, valid_from, max(reward_coins) as reward_coins, max(status) as status
        from {RAW_V2_SCHEMA}.offer_task_versions
        group by all
    ) as versions
        on pairs.offer_task_id = versions.offer_task_id and pairs.impression_time >= versions.valid_from
),
active as (
    select * from valued where status = 'active' and reward_coins between 0 and 1000000
)
select
    impression_id,
    sum(reward_coins) as total_coins,
    sum(case when position = 1 then reward_coins else 0 end) as first_task_coins,
    sum(case when position <= 3 then reward_coins else 0 end) as milestone_coins
from active
group by impression_id
"""

_EXPERIENCE_EVENTS = f"""
with
impressions as (
    select
        'i' || impressions.impression_id as idempotency_key,
        'offer_impression' as event_type,
        impressions.impression_time as event_time,
        impressions.user_id,
        impressions.offer_id,
        impressions.offer_version_id,
        cast(null as varchar) as user_offer_id,
        impressions.impression_id,
        impressions.placement,
        impressions.position,
        case impressions.variant_id
            when 'control' then shown.total_coins
            when 'first_task' then shown.first_task_coins
            else shown.milestone_coins
        end as shown_reward_coins,
        shown.total_coins as base_reward_coins,
        '{EXPERIMENT_ID}' as experiment_id,
        impressions.variant_id
    from v2_impressions as impressions
    left join v2_shown as shown on impressions.impression_id = shown.impression_id
),
starts as (
    select
        's' || starts.user_offer_id as idempotency_key,
        'offer_started' as event_type,
        starts.started_at as event_time,
        starts.user_id,
        starts.offer_id,
        null::bigint as offer_version_id,
        starts.user_offer_id,
        impressions.impression_id
    from v2_starts as starts
    inner join v2_impressions as impressions
        on starts.session_id = impressions.session_id and impressions.position = impressions.started_position
    union all
    select
        's' || {user_offer_key('user_id', 'offer_id', 'abandoned_at')},
        'offer_started',
        abandoned_at,
        user_id,
        offer_id,
        null::bigint,
        {user_offer_key('user_id', 'offer_id', 'abandoned_at')},
        impression_id
    from (
        select
            *,
            impression_time + to_microseconds(cast(30e6 + {u('abt', 'impression_id')} * 270e6 as bigint))
                as abandoned_at
        from v2_impressions
        where converting
            and position <> started_position
            and {u('ab', 'impression_id')} < {ABANDON_SHARE}
    )
),
started as (
    select starts.* exclude (offer_version_id), versions.offer_version_id
    from starts
    asof left join {RAW_V2_SCHEMA}.offer_versions as versions
        on starts.offer_id = versions.offer_id and starts.event_time >= versions.valid_from
),
experience as (
    select * from impressions
    union all by name
    select * from started
),
delivered as (
    select *, {ingested('event_time', 'ing', 'idempotency_key')} as ingested_at
    from experience
    where event_time <= getvariable('v2_clock')
),
copies as (
    select * from delivered
    union all
    select * replace (
        least(ingested_at + to_microseconds(cast(1e6 + {u('dupt', 'idempotency_key')} * 30e6 as bigint)),
              getvariable('v2_clock')) as ingested_at
    )
    from delivered
    where {u('dup', 'idempotency_key')} < {DUPLICATE_SHARE}
)
select
    idempotency_key, event_type, {SCHEMA_VERSION} as schema_version, event_time, ingested_at, user_id, offer_id,
    offer_version_id, user_offer_id, impression_id, placement, position, shown_reward_coins, base_reward_coins,
    experiment_id, variant_id
from copies
"""

EXPERIENCE_EVENTS_SQL = f"""
insert into {RAW_V2_SCHEMA}.user_offer_events by name
{_EXPERIENCE_EVENTS}
"""
