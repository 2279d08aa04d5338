-- One row per user with at least one completion: behaviour features of the anomaly score and
-- the learned model (docs/marts.md, "Behaviour features"). Rates are NULL-free (0 without
-- evidence); speed is the completion time against the median of its task type.
{{ config(materialized='table') }}

with

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

timed as (
    select
        user_id,
        task_type,
        minutes_to_complete,
        {{ median_over('minutes_to_complete', 'task_type') }} as task_type_median_minutes
    from int_task_completions_versioned
    where minutes_to_complete is not null
),

speed as (
    select
        user_id,
        avg(minutes_to_complete / nullif(task_type_median_minutes, 0)) as avg_speed_ratio,
        stddev_samp(minutes_to_complete / nullif(task_type_median_minutes, 0))
        / nullif(avg(minutes_to_complete / nullif(task_type_median_minutes, 0)), 0) as speed_ratio_cv
    from timed
    group by user_id
),

daily as (
    select
        user_id,
        completed_date,
        count(*) as day_completions
    from int_task_completions_versioned
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
        max(completed_at) as last_completed_at
    from int_task_completions_versioned
    group by user_id
),

final as (
    select
        -- ids
        per_user.user_id,
        -- counts
        per_user.completions,
        per_user.active_days,
        -- behaviour features
        per_user.completions * 1.0 / per_user.active_days as completions_per_active_day,
        peak_day.peak_day_completions * 1.0 / per_user.completions as peak_day_share,
        per_user.distinct_devices,
        per_user.distinct_networks * 1.0 / per_user.completions as networks_per_completion,
        per_user.distinct_countries,
        per_user.completions * 1.0 / per_user.distinct_offers as completions_per_offer,
        per_user.valuable_completions * 1.0 / per_user.completions as valuable_share,
        coalesce(speed.avg_speed_ratio, 1.0) as avg_speed_ratio,
        coalesce(speed.speed_ratio_cv, 1.0) as speed_ratio_cv,
        coalesce(per_user.reversed_completions * 1.0 / nullif(per_user.rewarded_completions, 0), 0) as reversal_rate,
        per_user.rejected_completions * 1.0 / per_user.completions as rejection_rate,
        coalesce(
            (
                {{ epoch_seconds('per_user.first_completed_at') }}
                - {{ epoch_seconds('stg_offerwall__users.signed_up_at') }}
            ) / 86400.0,
            0
        ) as days_to_first_completion,
        coalesce(
            (
                {{ epoch_seconds('per_user.last_completed_at') }}
                - {{ epoch_seconds('per_user.first_rewarded_at') }}
            ) / 86400.0,
            0
        ) as days_active_after_first_reward,
        coalesce(
            (
                {{ epoch_seconds('per_user.last_completed_at') }}
                - {{ epoch_seconds('stg_offerwall__users.signed_up_at') }}
            ) / 86400.0,
            0
        ) as days_signup_to_last_completion
    from per_user
    left join peak_day
        on per_user.user_id = peak_day.user_id
    left join speed
        on per_user.user_id = speed.user_id
    left join stg_offerwall__users
        on per_user.user_id = stg_offerwall__users.user_id
)

select * from final
