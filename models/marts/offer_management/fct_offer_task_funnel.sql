-- One row per offer and task position: how many users reached each step of an offer, the
-- conversion from the previous step, the median time to complete and the margin per user who
-- started the offer. "Reached" = the user has a completion (any status) of that task.
-- Positions come from the current tasks and from the completions, so a step nobody reached
-- shows 0 users and a step of a task that no longer exists still shows its completions.
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

dim_offer_tasks as (
    select * from {{ ref('dim_offer_tasks') }}
),

-- The median is taken over whole seconds (minutes_to_complete is whole seconds / 60), so both
-- engines interpolate the same exact values whatever precision they keep for numeric.
timed_completions as (
    select
        offer_id,
        task_position,
        offer_task_id,
        task_type,
        user_id,
        revenue_usd,
        margin_usd,
        cast(round(minutes_to_complete * 60) as {{ dbt.type_bigint() }}) as seconds_to_complete
    from fct_task_completions
),

completions as (
    select
        *,
        {{ median_over('seconds_to_complete', 'offer_id, task_position') }} as median_seconds_to_complete
    from timed_completions
),

by_position as (
    select
        offer_id,
        task_position,
        max(offer_task_id) as completed_offer_task_id,
        max(task_type) as completed_task_type,
        count(distinct user_id) as users_reached,
        count(*) as completions,
        cast(max(median_seconds_to_complete) as {{ type_float64() }}) / 60 as median_minutes_to_complete,
        sum(revenue_usd) as revenue_usd,
        sum(margin_usd) as margin_usd
    from completions
    group by offer_id, task_position
),

offer_starters as (
    select
        offer_id,
        count(distinct user_id) as users_started
    from fct_task_completions
    group by offer_id
),

positions as (
    select
        offer_id,
        task_position
    from dim_offer_tasks
    union distinct
    select
        offer_id,
        task_position
    from by_position
),

current_tasks as (
    select
        offer_id,
        task_position,
        max(offer_task_id) as offer_task_id,
        max(task_type) as task_type,
        max(title) as title
    from dim_offer_tasks
    group by offer_id, task_position
),

joined as (
    select
        positions.offer_id,
        positions.task_position,
        coalesce(current_tasks.offer_task_id, by_position.completed_offer_task_id) as offer_task_id,
        coalesce(current_tasks.task_type, by_position.completed_task_type) as task_type,
        current_tasks.title,
        coalesce(offer_starters.users_started, 0) as users_started,
        coalesce(by_position.users_reached, 0) as users_reached,
        coalesce(by_position.completions, 0) as completions,
        by_position.median_minutes_to_complete,
        coalesce(by_position.revenue_usd, 0) as revenue_usd,
        coalesce(by_position.margin_usd, 0) as margin_usd
    from positions
    left join current_tasks
        on positions.offer_id = current_tasks.offer_id
        and positions.task_position = current_tasks.task_position
    left join by_position
        on positions.offer_id = by_position.offer_id
        and positions.task_position = by_position.task_position
    left join offer_starters
        on positions.offer_id = offer_starters.offer_id
),

step_users as (
    select
        *,
        lag(users_reached) over (partition by offer_id order by task_position) as previous_step_users_reached,
        sum(margin_usd) over (
            partition by offer_id
            order by task_position
            rows between unbounded preceding and current row
        ) as cumulative_margin_usd
    from joined
),

final as (
    select
        -- keys
        offer_id,
        cast(task_position as {{ dbt.type_bigint() }}) as task_position,

        -- task
        offer_task_id,
        task_type,
        title,

        -- funnel
        cast(users_started as {{ dbt.type_bigint() }}) as users_started,
        cast(users_reached as {{ dbt.type_bigint() }}) as users_reached,
        cast(completions as {{ dbt.type_bigint() }}) as completions,
        cast(previous_step_users_reached as {{ dbt.type_bigint() }}) as previous_step_users_reached,
        case
            when previous_step_users_reached > 0
                then cast(users_reached as {{ type_float64() }}) / previous_step_users_reached
        end as step_conversion_rate,
        case
            when users_started > 0
                then cast(users_reached as {{ type_float64() }}) / users_started
        end as conversion_from_start_rate,

        -- time
        cast(median_minutes_to_complete as {{ type_float64() }}) as median_minutes_to_complete,

        -- money (recognised)
        cast(revenue_usd as numeric) as revenue_usd,
        cast(margin_usd as numeric) as margin_usd,
        case
            when users_started > 0
                then cast(margin_usd as {{ type_float64() }}) / users_started
        end as margin_usd_per_started_user,
        case
            when users_started > 0
                then cast(cumulative_margin_usd as {{ type_float64() }}) / users_started
        end as cumulative_margin_usd_per_started_user
    from step_users
)

select * from final
