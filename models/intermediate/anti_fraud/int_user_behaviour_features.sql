-- One row per user with at least one completion: behaviour features of the anomaly score and
-- the learned model (docs/marts.md, "Behaviour features"). Rates are NULL-free (0 without
-- evidence); speed is the completion time against the median of its task type.
-- The cheap final step over two incremental models (docs/models.md, "Incremental end to end"):
-- the per-user counts (int_user_completion_stats) and the moments of each user's minutes per
-- task type (int_user_task_type_minutes) hold only what a user's own completions decide; what
-- moves for everyone every day is computed here: the task types' medians and, from them, the
-- speed ratios, and the days since signup (a users row may arrive late).
-- Speed from the moments: with r = minutes / median_t, a task type t with n_t timed
-- completions, minutes sum s_t and sum of squares q_t contributes n_t ratios with sum
-- S_t = s_t / median_t and squared deviations from their mean M_t = (n_t q_t - s_t^2) / n_t /
-- median_t^2 (n_t q_t - s_t^2 is computed in exact decimals: no cancellation). Then
-- avg_speed_ratio = sum(S_t) / n, n = sum(n_t), and the pooled squared deviations
-- M = sum(M_t) + sum(n_t (S_t / n_t - avg)^2) give speed_ratio_cv = sqrt(M / (n - 1)) / avg:
-- the avg and stddev_samp of the ratios over the user's timed completions, as a scan of
-- them would give (a task type whose median is 0 gives no ratio, as nullif did).
{{ config(materialized='table') }}

with

int_user_completion_stats as (
    select * from {{ ref('int_user_completion_stats') }}
),

int_user_task_type_minutes as (
    select * from {{ ref('int_user_task_type_minutes') }}
),

int_task_completions_versioned as (
    select * from {{ ref('int_task_completions_versioned') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

-- each task type's median minutes over every timed completion (a NULL type is its own group)
timed as (
    select
        task_type,
        {{ median_over('minutes_to_complete', 'task_type') }} as task_type_median_minutes
    from int_task_completions_versioned
    where minutes_to_complete is not null
),

task_type_medians as (
    select distinct
        task_type,
        task_type_median_minutes
    from timed
),

-- per user and task type: n_t, S_t and M_t of the ratios minutes / median
ratio_moments as (
    select
        minutes.user_id,
        minutes.timed_completions,
        cast(minutes.minutes_sum as {{ type_float64() }})
        / cast(medians.task_type_median_minutes as {{ type_float64() }}) as ratio_sum,
        cast(
            minutes.timed_completions * minutes.minutes_sq_sum - minutes.minutes_sum * minutes.minutes_sum
            as {{ type_float64() }}
        )
        / minutes.timed_completions
        / (
            cast(medians.task_type_median_minutes as {{ type_float64() }})
            * cast(medians.task_type_median_minutes as {{ type_float64() }})
        ) as ratio_sq_dev_sum
    from int_user_task_type_minutes as minutes
    inner join task_type_medians as medians
        on coalesce(minutes.task_type, '') = coalesce(medians.task_type, '')
    where minutes.timed_completions > 0
        and medians.task_type_median_minutes <> 0
),

ratio_means as (
    select
        user_id,
        timed_completions,
        ratio_sum,
        ratio_sq_dev_sum,
        sum(ratio_sum) over (partition by user_id)
        / sum(timed_completions) over (partition by user_id) as avg_speed_ratio
    from ratio_moments
),

-- M_t plus the task type's share of the spread between the types' means: n_t (S_t / n_t - avg)^2
pooled as (
    select
        user_id,
        timed_completions,
        avg_speed_ratio,
        ratio_sq_dev_sum
        + timed_completions
        * (ratio_sum / timed_completions - avg_speed_ratio)
        * (ratio_sum / timed_completions - avg_speed_ratio) as pooled_sq_dev_sum
    from ratio_means
),

speed as (
    select
        user_id,
        max(avg_speed_ratio) as avg_speed_ratio,
        case
            when sum(timed_completions) > 1
                then sqrt(sum(pooled_sq_dev_sum) / (sum(timed_completions) - 1)) / nullif(max(avg_speed_ratio), 0)
        end as speed_ratio_cv
    from pooled
    group by user_id
),

final as (
    select
        -- ids
        stats.user_id,
        -- counts
        stats.completions,
        stats.active_days,
        -- behaviour features
        stats.completions * 1.0 / stats.active_days as completions_per_active_day,
        stats.peak_day_completions * 1.0 / stats.completions as peak_day_share,
        stats.distinct_devices,
        stats.distinct_networks * 1.0 / stats.completions as networks_per_completion,
        stats.distinct_countries,
        stats.completions * 1.0 / stats.distinct_offers as completions_per_offer,
        stats.valuable_completions * 1.0 / stats.completions as valuable_share,
        coalesce(speed.avg_speed_ratio, 1.0) as avg_speed_ratio,
        coalesce(speed.speed_ratio_cv, 1.0) as speed_ratio_cv,
        coalesce(stats.reversed_completions * 1.0 / nullif(stats.rewarded_completions, 0), 0) as reversal_rate,
        stats.rejected_completions * 1.0 / stats.completions as rejection_rate,
        coalesce(
            (
                {{ epoch_seconds('stats.first_completed_at') }}
                - {{ epoch_seconds('stg_offerwall__users.signed_up_at') }}
            ) / 86400.0,
            0
        ) as days_to_first_completion,
        coalesce(
            (
                {{ epoch_seconds('stats.last_completed_at') }}
                - {{ epoch_seconds('stats.first_rewarded_at') }}
            ) / 86400.0,
            0
        ) as days_active_after_first_reward,
        coalesce(
            (
                {{ epoch_seconds('stats.last_completed_at') }}
                - {{ epoch_seconds('stg_offerwall__users.signed_up_at') }}
            ) / 86400.0,
            0
        ) as days_signup_to_last_completion
    from int_user_completion_stats as stats
    left join speed
        on stats.user_id = speed.user_id
    left join stg_offerwall__users
        on stats.user_id = stg_offerwall__users.user_id
)

select * from final
