-- One row per price change: a version of an offer task whose reward or payout differs from the
-- version before it, with the completions and recognised margin of the two versions while
-- each was live (per day live, and margin %), so the effect of the change can be read.
-- A version's days live run from valid_from to valid_to (or the as-of time for the current one).
with

dim_offer_task_versions as (
    select * from {{ ref('dim_offer_task_versions') }}
),

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

as_of as (
    select as_of_at
    from {{ ref('int_warehouse_as_of') }}
),

version_performance as (
    select
        offer_task_version_id,
        count(*) as completions,
        sum(revenue_usd) as revenue_usd,
        sum(margin_usd) as margin_usd
    from fct_task_completions
    group by offer_task_version_id
),

versions as (
    select
        versions.offer_task_version_id,
        versions.offer_task_id,
        versions.offer_id,
        versions.version_number,
        versions.task_type,
        versions.reward_usd,
        versions.payout_usd,
        versions.valid_from,
        greatest(
            cast(
                {{ dbt.datediff('versions.valid_from', 'coalesce(versions.valid_to, as_of.as_of_at)', 'second') }}
                as {{ type_float64() }}
            ) / 86400,
            1.0 / 24
        ) as days_live,
        coalesce(performance.completions, 0) as completions,
        coalesce(performance.revenue_usd, 0) as revenue_usd,
        coalesce(performance.margin_usd, 0) as margin_usd,
        lag(versions.offer_task_version_id) over (
            partition by versions.offer_task_id order by versions.version_number
        ) as previous_version_id
    from dim_offer_task_versions as versions
    cross join as_of
    left join version_performance as performance
        on versions.offer_task_version_id = performance.offer_task_version_id
),

final as (
    select
        -- ids
        new_version.offer_task_version_id,
        new_version.offer_task_id,
        new_version.offer_id,
        cast(new_version.version_number as {{ dbt.type_bigint() }}) as version_number,
        new_version.task_type,
        new_version.valid_from as changed_at,

        -- prices
        cast(old_version.reward_usd as numeric) as reward_usd_before,
        cast(new_version.reward_usd as numeric) as reward_usd_after,
        cast(old_version.payout_usd as numeric) as payout_usd_before,
        cast(new_version.payout_usd as numeric) as payout_usd_after,

        -- effect
        cast(old_version.completions as {{ type_float64() }}) / old_version.days_live as completions_per_day_before,
        cast(new_version.completions as {{ type_float64() }}) / new_version.days_live as completions_per_day_after,
        cast(old_version.margin_usd as {{ type_float64() }}) / old_version.days_live as margin_usd_per_day_before,
        cast(new_version.margin_usd as {{ type_float64() }}) / new_version.days_live as margin_usd_per_day_after,
        case
            when old_version.revenue_usd <> 0
                then cast(old_version.margin_usd as {{ type_float64() }})
                    / cast(old_version.revenue_usd as {{ type_float64() }})
        end as margin_pct_before,
        case
            when new_version.revenue_usd <> 0
                then cast(new_version.margin_usd as {{ type_float64() }})
                    / cast(new_version.revenue_usd as {{ type_float64() }})
        end as margin_pct_after
    from versions as new_version
    inner join versions as old_version
        on new_version.previous_version_id = old_version.offer_task_version_id
    where
        new_version.reward_usd <> old_version.reward_usd
        or new_version.payout_usd <> old_version.payout_usd
)

select * from final
