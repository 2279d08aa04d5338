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
    select {{ as_of_timestamp() }} as as_of_at
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
            cast({{ dbt.datediff('versions.valid_from', 'coalesce(versions.valid_to, as_of.as_of_at)', 'second') }}
                as {{ type_float64() }}) / 86400,
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
        after.offer_task_version_id,
        after.offer_task_id,
        after.offer_id,
        cast(after.version_number as {{ dbt.type_bigint() }}) as version_number,
        after.task_type,
        after.valid_from as changed_at,

        -- prices
        cast(before.reward_usd as numeric) as reward_usd_before,
        cast(after.reward_usd as numeric) as reward_usd_after,
        cast(before.payout_usd as numeric) as payout_usd_before,
        cast(after.payout_usd as numeric) as payout_usd_after,

        -- effect
        cast(before.completions as {{ type_float64() }}) / before.days_live as completions_per_day_before,
        cast(after.completions as {{ type_float64() }}) / after.days_live as completions_per_day_after,
        cast(before.margin_usd as {{ type_float64() }}) / before.days_live as margin_usd_per_day_before,
        cast(after.margin_usd as {{ type_float64() }}) / after.days_live as margin_usd_per_day_after,
        case
            when before.revenue_usd <> 0
                then cast(before.margin_usd as {{ type_float64() }}) / cast(before.revenue_usd as {{ type_float64() }})
        end as margin_pct_before,
        case
            when after.revenue_usd <> 0
                then cast(after.margin_usd as {{ type_float64() }}) / cast(after.revenue_usd as {{ type_float64() }})
        end as margin_pct_after
    from versions as after
    inner join versions as before
        on after.previous_version_id = before.offer_task_version_id
    where
        after.reward_usd <> before.reward_usd
        or after.payout_usd <> before.payout_usd
)

select * from final
