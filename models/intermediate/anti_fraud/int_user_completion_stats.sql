-- One row per user with at least one completion: the per-user counts behind the behaviour
-- features (int_user_behaviour_features), and the fingerprint of the user's completions.
-- Incremental (docs/models.md, "Incremental end to end"): a run recomputes only the users whose
-- completions changed in int_task_completions_versioned, found by comparing each user's
-- completions_fingerprint (row_set_fingerprint of the columns the features read) with the
-- stored one. That catches every way a user's rows change, with or without a new row of their
-- own: a new version (status, chargeback), a completion re-joined to another task version
-- (task type), a completion that left staging (deleted), one that came back clean, an erasure
-- (the surrogate's rows appear, the original id's disappear). A user whose completions all
-- left is written with completions = 0 and deleted by the post-hook. Every column is a function
-- of the user's own completions, so a user whose fingerprint is unchanged keeps exactly the
-- values a full rebuild would give. Merged on user_id.
{%- set fingerprint_columns = [
    'completion_id', 'status', 'task_type', 'offer_id', 'country', 'device_hash', 'ip_hash',
    'completed_at', 'completed_date', 'minutes_to_complete',
] %}
{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
        cluster_by=(['user_id'] if target.type == 'bigquery' else none),
        post_hook=[
            "{% if is_incremental_run() %}{{ delete_where(this, 'user_id', 'completions = 0') }}{% endif %}"
        ],
    )
}}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

{% if is_incremental_run() %}
    current_fingerprints as (
        select
            user_id,
            count(*) as completions,
            {{ row_set_fingerprint(fingerprint_columns) }} as completions_fingerprint
        from int_task_completions_versioned
        group by user_id
    ),

    -- new users, users whose completions changed, users whose completions all left
    touched_users as (
        select coalesce(current_fingerprints.user_id, previous.user_id) as user_id
        from current_fingerprints
        full outer join {{ this }} as previous
            on current_fingerprints.user_id = previous.user_id
        where previous.user_id is null
            or current_fingerprints.user_id is null
            or current_fingerprints.completions <> previous.completions
            or current_fingerprints.completions_fingerprint is null
            or previous.completions_fingerprint is null
            or current_fingerprints.completions_fingerprint <> previous.completions_fingerprint
    ),

    completions_batch as (
        select * from int_task_completions_versioned
        where user_id in (select touched_users.user_id from touched_users)
    ),
{% else %}
    completions_batch as (
        select * from int_task_completions_versioned
    ),
{% endif %}

daily as (
    select
        user_id,
        completed_date,
        count(*) as day_completions
    from completions_batch
    group by user_id, completed_date
),

peak_day as (
    select
        user_id,
        max(day_completions) as peak_day_completions
    from daily
    group by user_id
),

per_user as (
    select
        user_id,
        count(*) as completions,
        count(distinct completed_date) as active_days,
        count(distinct device_hash) as distinct_devices,
        count(distinct ip_hash) as distinct_networks,
        count(distinct country) as distinct_countries,
        count(distinct offer_id) as distinct_offers,
        count(case when task_type in ('purchase', 'deposit') then 1 end) as valuable_completions,
        count(case when status = 'reversed' then 1 end) as reversed_completions,
        count(case when status = 'rejected' then 1 end) as rejected_completions,
        count(case when status in ('credited', 'reversed') then 1 end) as rewarded_completions,
        min(case when status in ('credited', 'reversed') then completed_at end) as first_rewarded_at,
        min(completed_at) as first_completed_at,
        max(completed_at) as last_completed_at,
        {{ row_set_fingerprint(fingerprint_columns) }} as completions_fingerprint
    from completions_batch
    group by user_id
),

recomputed as (
    select
        -- ids
        per_user.user_id,
        -- counts
        per_user.completions,
        per_user.active_days,
        peak_day.peak_day_completions,
        per_user.distinct_devices,
        per_user.distinct_networks,
        per_user.distinct_countries,
        per_user.distinct_offers,
        per_user.valuable_completions,
        per_user.reversed_completions,
        per_user.rejected_completions,
        per_user.rewarded_completions,
        -- fingerprint of the user's completions (the incremental run's change detector)
        per_user.completions_fingerprint,
        -- timestamps
        per_user.first_rewarded_at,
        per_user.first_completed_at,
        per_user.last_completed_at
    from per_user
    left join peak_day
        on per_user.user_id = peak_day.user_id
),

{% if is_incremental_run() %}
    -- a touched user with no completion left: written with completions = 0, deleted by the post-hook
    final as (
        select * from recomputed
        union all
        select
            -- ids
            previous.user_id,
            -- counts
            0 as completions,
            0 as active_days,
            0 as peak_day_completions,
            0 as distinct_devices,
            0 as distinct_networks,
            0 as distinct_countries,
            0 as distinct_offers,
            0 as valuable_completions,
            0 as reversed_completions,
            0 as rejected_completions,
            0 as rewarded_completions,
            -- fingerprint
            previous.completions_fingerprint,
            -- timestamps
            previous.first_rewarded_at,
            previous.first_completed_at,
            previous.last_completed_at
        from {{ this }} as previous
        where previous.user_id in (select touched_users.user_id from touched_users)
            and previous.user_id not in (select recomputed.user_id from recomputed)
    )
{% else %}
    final as (
        select * from recomputed
    )
{% endif %}

select * from final
