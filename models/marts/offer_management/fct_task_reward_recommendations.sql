-- One row per current offer task with known terms (an inferred task of dim_offer_tasks, whose
-- row the replica lost or quarantined, has no payout to price from and is left out): today's
-- reward beside the largest reward that keeps the target margin (var reward_target_margin_pct)
-- given the task's reversal rate.
-- Per completion, expected revenue = payout x (1 - r) (a reversal claws the payout back) and
-- expected reward cost = reward x (1 - r x k), k = var reversed_reward_recovery_share (the
-- share of a reversed reward actually recovered; 0 = the user already cashed the coins out).
-- margin % = 1 - reward x (1 - r x k) / (payout x (1 - r)) >= target gives
-- recommended reward = payout x (1 - r) x (1 - target) / (1 - r x k), rounded down to whole coins.
-- r = reversed / (credited + reversed) over completions at least var
-- reward_reversal_maturity_days old; a task with fewer than var reward_min_resolved_completions
-- such completions borrows its offer's rate, then the rate over all tasks.
with

dim_offer_tasks as (
    select * from {{ ref('dim_offer_tasks') }}
),

dim_offers as (
    select * from {{ ref('dim_offers') }}
),

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

as_of as (
    select as_of_date
    from {{ ref('int_warehouse_as_of') }}
),

matured as (
    select
        completions.offer_task_id,
        completions.offer_id,
        case when completions.status = 'reversed' then 1 else 0 end as is_reversed,
        case when completions.status in ('credited', 'reversed') then 1 else 0 end as is_resolved
    from fct_task_completions as completions
    cross join as_of
    where
        completions.completed_date
        <= {{ dbt.dateadd('day', -1 * var('reward_reversal_maturity_days'), 'as_of.as_of_date') }}
),

task_rates as (
    select
        offer_task_id,
        sum(is_resolved) as resolved_completions,
        sum(is_reversed) as reversed_completions
    from matured
    group by offer_task_id
),

offer_rates as (
    select
        offer_id,
        sum(is_resolved) as resolved_completions,
        sum(is_reversed) as reversed_completions
    from matured
    group by offer_id
),

overall_rate as (
    select
        sum(is_resolved) as resolved_completions,
        sum(is_reversed) as reversed_completions
    from matured
),

rates as (
    select
        tasks.offer_task_id,
        coalesce(task_rates.resolved_completions, 0) as task_resolved_completions,
        case
            when coalesce(task_rates.resolved_completions, 0) >= {{ var('reward_min_resolved_completions') }}
                then 'task'
            when coalesce(offer_rates.resolved_completions, 0) >= {{ var('reward_min_resolved_completions') }}
                then 'offer'
            when overall_rate.resolved_completions > 0
                then 'all_tasks'
            else 'none'
        end as reversal_rate_basis,
        case
            when coalesce(task_rates.resolved_completions, 0) >= {{ var('reward_min_resolved_completions') }}
                then cast(task_rates.reversed_completions as {{ type_float64() }}) / task_rates.resolved_completions
            when coalesce(offer_rates.resolved_completions, 0) >= {{ var('reward_min_resolved_completions') }}
                then cast(offer_rates.reversed_completions as {{ type_float64() }}) / offer_rates.resolved_completions
            when overall_rate.resolved_completions > 0
                then cast(overall_rate.reversed_completions as {{ type_float64() }}) / overall_rate.resolved_completions
            else 0
        end as reversal_rate
    from dim_offer_tasks as tasks
    cross join overall_rate
    left join task_rates
        on tasks.offer_task_id = task_rates.offer_task_id
    left join offer_rates
        on tasks.offer_id = offer_rates.offer_id
),

recommended as (
    select
        tasks.offer_task_id,
        tasks.offer_id,
        offers.offer_name,
        tasks.task_position,
        tasks.title,
        tasks.task_type,
        tasks.status,
        tasks.payout_usd,
        tasks.reward_usd,
        tasks.reward_coins,
        rates.task_resolved_completions,
        rates.reversal_rate_basis,
        rates.reversal_rate,
        cast(tasks.payout_usd as {{ type_float64() }}) * (1 - rates.reversal_rate) as expected_revenue_usd,
        cast(tasks.reward_usd as {{ type_float64() }})
        * (1 - rates.reversal_rate * {{ var('reversed_reward_recovery_share') }}) as expected_reward_cost_usd,
        floor(
            cast(tasks.payout_usd as {{ type_float64() }}) * (1 - rates.reversal_rate)
            * (1 - {{ var('reward_target_margin_pct') }})
            / (1 - rates.reversal_rate * {{ var('reversed_reward_recovery_share') }})
            * {{ var('coins_per_usd') }}
            + 1e-9
        ) as recommended_reward_coins
    from dim_offer_tasks as tasks
    inner join rates
        on tasks.offer_task_id = rates.offer_task_id
    left join dim_offers as offers
        on tasks.offer_id = offers.offer_id
    where not tasks.is_inferred
),

final as (
    select
        -- ids
        offer_task_id,
        offer_id,

        -- task
        offer_name,
        cast(task_position as {{ dbt.type_bigint() }}) as task_position,
        title,
        task_type,
        status,

        -- today
        cast(payout_usd as numeric) as payout_usd,
        cast(reward_usd as numeric) as reward_usd,
        cast(reward_coins as {{ dbt.type_bigint() }}) as reward_coins,
        case
            when expected_revenue_usd > 0
                then 1 - expected_reward_cost_usd / expected_revenue_usd
        end as expected_margin_pct,

        -- reversal rate used
        cast(task_resolved_completions as {{ dbt.type_bigint() }}) as task_resolved_completions,
        reversal_rate_basis,
        reversal_rate,

        -- recommendation
        cast({{ var('reward_target_margin_pct') }} as {{ type_float64() }}) as target_margin_pct,
        cast(greatest(recommended_reward_coins, 0) as {{ dbt.type_bigint() }}) as recommended_reward_coins,
        cast(greatest(recommended_reward_coins, 0) / {{ var('coins_per_usd') }} as numeric) as recommended_reward_usd,
        cast((greatest(recommended_reward_coins, 0) - reward_coins) / {{ var('coins_per_usd') }} as numeric)
            as reward_change_usd,
        case
            when greatest(recommended_reward_coins, 0) < reward_coins then 'lower'
            when greatest(recommended_reward_coins, 0) > reward_coins then 'can_raise'
            else 'keep'
        end as recommendation
    from recommended
)

select * from final
