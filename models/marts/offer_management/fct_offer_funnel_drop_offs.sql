-- One row per funnel step (offer x task position > 1) that at least
-- var reward_min_resolved_completions users reached the step before: its conversion from the
-- previous step against the same task type's steps across all offers. abnormal = converting at
-- least var funnel_drop_off_z_threshold standard deviations below the task type's mean.
with

fct_offer_task_funnel as (
    select * from {{ ref('fct_offer_task_funnel') }}
),

dim_offers as (
    select * from {{ ref('dim_offers') }}
),

steps as (
    select * from fct_offer_task_funnel
    where
        step_conversion_rate is not null
        and previous_step_users_reached >= {{ var('reward_min_resolved_completions') }}
),

with_type_baseline as (
    select
        *,
        avg(step_conversion_rate) over (partition by task_type) as task_type_mean_conversion_rate,
        stddev_samp(step_conversion_rate) over (partition by task_type) as task_type_stddev_conversion_rate,
        count(*) over (partition by task_type) as task_type_steps
    from steps
),

final as (
    select
        -- keys
        steps.offer_id,
        steps.task_position,

        -- step
        dim_offers.offer_name,
        steps.offer_task_id,
        steps.task_type,
        steps.title,
        steps.previous_step_users_reached,
        steps.users_reached,
        steps.step_conversion_rate,

        -- baseline: the task type across offers
        steps.task_type_mean_conversion_rate,
        steps.task_type_stddev_conversion_rate,
        cast(steps.task_type_steps as {{ dbt.type_bigint() }}) as task_type_steps,
        case
            when steps.task_type_stddev_conversion_rate > 0
                then (steps.step_conversion_rate - steps.task_type_mean_conversion_rate)
                    / steps.task_type_stddev_conversion_rate
        end as z_score,
        coalesce(
            steps.task_type_stddev_conversion_rate > 0
            and (steps.step_conversion_rate - steps.task_type_mean_conversion_rate)
            / steps.task_type_stddev_conversion_rate <= -1 * {{ var('funnel_drop_off_z_threshold') }},
            false
        ) as is_abnormal_drop_off
    from with_type_baseline as steps
    left join dim_offers
        on steps.offer_id = dim_offers.offer_id
)

select * from final
