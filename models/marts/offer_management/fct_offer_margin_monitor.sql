-- One row per offer with completions in the last 2 x var margin_monitor_days days: recognised
-- margin in the latest window (the var margin_monitor_days complete days before the as-of
-- day) beside the window before it, and a status: negative (margin < 0), thin (margin % below
-- var thin_margin_pct), healthy, or no_revenue (nothing credited in the window).
with

fct_offer_daily_performance as (
    select * from {{ ref('fct_offer_daily_performance') }}
),

as_of as (
    select as_of_date
    from {{ ref('int_warehouse_as_of') }}
),

windowed as (
    select
        performance.*,
        case
            when
                performance.completed_date
                >= {{ dbt.dateadd('day', -1 * var('margin_monitor_days'), 'as_of.as_of_date') }}
                then 'current'
            else 'previous'
        end as monitor_window
    from fct_offer_daily_performance as performance
    cross join as_of
    where
        performance.completed_date < as_of.as_of_date
        and performance.completed_date >= {{ dbt.dateadd('day', -2 * var('margin_monitor_days'), 'as_of.as_of_date') }}
),

per_offer as (
    select
        offer_id,
        max(offer_name) as offer_name,
        max(advertiser) as advertiser,
        max(provider) as provider,
        max(category) as category,
        sum(case when monitor_window = 'current' then completions else 0 end) as completions,
        sum(case when monitor_window = 'current' then revenue_usd else 0 end) as revenue_usd,
        sum(case when monitor_window = 'current' then reward_cost_usd else 0 end) as reward_cost_usd,
        sum(case when monitor_window = 'current' then margin_usd else 0 end) as margin_usd,
        sum(case when monitor_window = 'previous' then revenue_usd else 0 end) as previous_revenue_usd,
        sum(case when monitor_window = 'previous' then margin_usd else 0 end) as previous_margin_usd
    from windowed
    group by offer_id
),

final as (
    select
        -- ids
        offer_id,

        -- offer
        offer_name,
        advertiser,
        provider,
        category,

        -- latest window
        cast({{ var('margin_monitor_days') }} as {{ dbt.type_bigint() }}) as window_days,
        cast(completions as {{ dbt.type_bigint() }}) as completions,
        cast(revenue_usd as numeric) as revenue_usd,
        cast(reward_cost_usd as numeric) as reward_cost_usd,
        cast(margin_usd as numeric) as margin_usd,
        case
            when revenue_usd <> 0
                then cast(margin_usd as {{ type_float64() }}) / cast(revenue_usd as {{ type_float64() }})
        end as margin_pct,

        -- window before
        cast(previous_revenue_usd as numeric) as previous_revenue_usd,
        cast(previous_margin_usd as numeric) as previous_margin_usd,
        case
            when previous_revenue_usd <> 0
                then cast(previous_margin_usd as {{ type_float64() }})
                    / cast(previous_revenue_usd as {{ type_float64() }})
        end as previous_margin_pct,

        -- status
        case
            when revenue_usd = 0 then 'no_revenue'
            when margin_usd < 0 then 'negative'
            when cast(margin_usd as {{ type_float64() }}) / cast(revenue_usd as {{ type_float64() }})
                < {{ var('thin_margin_pct') }} then 'thin'
            else 'healthy'
        end as margin_status
    from per_offer
)

select * from final
