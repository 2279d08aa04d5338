-- One row per pair of users linked by one kind of link (user_a_id < user_b_id): the edges of
-- the account graph. Kinds: referral (one referred the other), shared_device, shared_network
-- (seen on the same device / IP) and coactivity (completed at least
-- `fraud_graph_coactivity_min_tasks` of the same tasks within `fraud_graph_coactivity_minutes`
-- of each other, on at least `fraud_graph_coactivity_min_days` days: one coincidence on a
-- popular offer is chance, the same again on another day is not) and co_sequence (the same
-- tasks in the same order, started together at a rare moment: int_user_sequence_links). Devices and IPs seen with
-- more than `fraud_graph_max_users_per_key` users (carrier NAT, public hotspots) link nobody:
-- they say nothing about a pair and would square the row count.
{%- set window_minutes = var('fraud_graph_coactivity_minutes') %}
{{ config(materialized='table') }}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

int_user_sequence_links as (
    select * from {{ ref('int_user_sequence_links') }}
),

referrals as (
    select
        least(user_id, referrer_user_id) as user_a_id,
        greatest(user_id, referrer_user_id) as user_b_id,
        'referral' as link_type,
        1 as evidence_count
    from stg_offerwall__users
    where referrer_user_id is not null and referrer_user_id != user_id
),

{% for kind, key in [('shared_device', 'device_hash'), ('shared_network', 'ip_hash')] %}
    {{ kind }}_users as (
        select distinct
            {{ key }} as link_key,
            user_id
        from int_task_completions_versioned
        where {{ key }} is not null
    ),

    {{ kind }}_keys as (
        select link_key
        from {{ kind }}_users
        group by link_key
        having count(*) between 2 and {{ var('fraud_graph_max_users_per_key') }}
    ),

    {{ kind }} as (
        select
            a.user_id as user_a_id,
            b.user_id as user_b_id,
            '{{ kind }}' as link_type,
            count(*) as evidence_count
        from {{ kind }}_users as a
        inner join {{ kind }}_keys as k
            on a.link_key = k.link_key
        inner join {{ kind }}_users as b
            on
            a.link_key = b.link_key
            and a.user_id < b.user_id
        group by a.user_id, b.user_id
    ),

{% endfor %}
-- completions bucketed by time: a pair within the window is in the same or the next bucket.
-- Each completion is also listed under its two neighbouring buckets (`neighbours`), so the
-- self-join is an equality on (task, bucket): it pairs only completions of a task at most one
-- bucket apart (a range condition on the bucket would pair every completion of a popular task
-- first and filter after: 42 s instead of under 2 at 1M rows).
timed as (
    select
        user_id,
        offer_task_id,
        completed_at,
        cast(
            floor({{ epoch_seconds('completed_at') }} / {{ window_minutes * 60 }})
            as {{ dbt.type_bigint() }}
        ) as time_bucket
    from int_task_completions_versioned
    where completed_at is not null
),

bucket_shifts as (
    select -1 as shift
    union all
    select 0 as shift
    union all
    select 1 as shift
),

neighbours as (
    select
        timed.user_id,
        timed.offer_task_id,
        timed.completed_at,
        timed.time_bucket + bucket_shifts.shift as time_bucket
    from timed
    cross join bucket_shifts
),

coactive_tasks as (
    select
        a.user_id as user_a_id,
        b.user_id as user_b_id,
        a.offer_task_id,
        cast(a.completed_at as date) as coactive_date
    from timed as a
    inner join neighbours as b
        on
        a.offer_task_id = b.offer_task_id
        and a.time_bucket = b.time_bucket
        and a.user_id < b.user_id
    where
        abs(
            {{ epoch_seconds('b.completed_at') }}
            - {{ epoch_seconds('a.completed_at') }}
        ) <= {{ window_minutes * 60 }}
),

coactivity as (
    select
        user_a_id,
        user_b_id,
        'coactivity' as link_type,
        count(distinct offer_task_id) as evidence_count
    from coactive_tasks
    group by user_a_id, user_b_id
    having
        count(distinct offer_task_id) >= {{ var('fraud_graph_coactivity_min_tasks') }}
        and count(distinct coactive_date) >= {{ var('fraud_graph_coactivity_min_days') }}
),

final as (
    select * from referrals
    union all
    select * from shared_device
    union all
    select * from shared_network
    union all
    select * from coactivity
    union all
    select * from int_user_sequence_links
)

select * from final
