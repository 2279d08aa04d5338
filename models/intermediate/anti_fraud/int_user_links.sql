-- One row per pair of users linked by one kind of link (user_a_id < user_b_id): the edges of
-- the account graph. Kinds: referral (one referred the other), shared_device, shared_network
-- (seen on the same device / IP) and coactivity (completed at least
-- `fraud_graph_coactivity_min_tasks` of the same tasks within `fraud_graph_coactivity_minutes`
-- of each other, on at least `fraud_graph_coactivity_min_days` days: one coincidence on a
-- popular offer is chance, the same again on another day is not) and co_sequence (the same
-- tasks in the same order, started together at a rare moment: int_user_sequence_links). Devices and IPs seen with
-- more than `fraud_graph_max_users_per_key` users (carrier NAT, public hotspots) link nobody:
-- they say nothing about a pair and would square the row count.
-- The co-activity self-join is incremental in int_user_coactivity_evidence (pairs per task and
-- day); this model counts its evidence per pair.
{{ config(materialized='table') }}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

int_user_coactivity_evidence as (
    select * from {{ ref('int_user_coactivity_evidence') }}
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
-- co-active pairs of users per task and day, stored incrementally (int_user_coactivity_evidence).
-- Its rows are distinct (task, day, pair), so a pair with fewer rows than the tasks or days it
-- needs cannot qualify: a plain count drops those (most pairs meet once, by chance) before the
-- distinct counts.
coactive_evidence as (
    select
        user_a_id,
        user_b_id,
        offer_task_id,
        coactive_date
    from int_user_coactivity_evidence
    where user_a_id is not null
),

coactive_candidates as (
    select
        user_a_id,
        user_b_id
    from coactive_evidence
    group by user_a_id, user_b_id
    having count(*) >= {{ [var('fraud_graph_coactivity_min_tasks'), var('fraud_graph_coactivity_min_days')] | max }}
),

coactivity as (
    select
        coactive_evidence.user_a_id,
        coactive_evidence.user_b_id,
        'coactivity' as link_type,
        count(distinct coactive_evidence.offer_task_id) as evidence_count
    from coactive_evidence
    inner join coactive_candidates
        on
        coactive_evidence.user_a_id = coactive_candidates.user_a_id
        and coactive_evidence.user_b_id = coactive_candidates.user_b_id
    group by coactive_evidence.user_a_id, coactive_evidence.user_b_id
    having
        count(distinct coactive_evidence.offer_task_id) >= {{ var('fraud_graph_coactivity_min_tasks') }}
        and count(distinct coactive_evidence.coactive_date) >= {{ var('fraud_graph_coactivity_min_days') }}
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
