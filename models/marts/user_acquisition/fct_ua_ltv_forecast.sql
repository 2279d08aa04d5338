-- One row per signup date x acquisition_channel: the d90 LTV (recognised margin by day 90) as
-- observed, or forecast from d30 (else d7) with multipliers learned on mature cohorts.
-- Mature = the cohort has reached day 90. The latest var ltv_holdout_share of the mature signup
-- dates are held out: the multipliers are learned on the older mature dates only (training),
-- and fct_ua_ltv_forecast_accuracy measures them on the held-out ones. Multiplier of a channel
-- = sum(d90) / sum(dN) over its training cohorts; a channel with no positive training dN uses
-- the multiplier over all channels.
with

fct_user_ltv as (
    select * from {{ ref('fct_user_ltv') }}
),

fct_ua_cohorts as (
    select * from {{ ref('fct_ua_cohorts') }}
),

cohorts as (
    select
        signup_date as cohort_date,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        max(days_since_signup) as days_since_signup,
        count(*) as users, -- noqa: RF04
        case when count(margin_usd_d7) = count(*) then sum(margin_usd_d7) end as margin_usd_d7,
        case when count(margin_usd_d30) = count(*) then sum(margin_usd_d30) end as margin_usd_d30,
        case when count(margin_usd_d90) = count(*) then sum(margin_usd_d90) end as margin_usd_d90
    from fct_user_ltv
    where signup_date is not null
    group by signup_date, coalesce(acquisition_channel, 'unknown')
),

spend as (
    select
        cohort_date,
        acquisition_channel,
        sum(spend_usd) as spend_usd
    from fct_ua_cohorts
    group by cohort_date, acquisition_channel
),

mature_cohort_dates as (
    select distinct cohort_date
    from cohorts
    where margin_usd_d90 is not null
),

mature_dates as (
    select
        cohort_date,
        row_number() over (order by cohort_date desc) as recency_rank,
        count(*) over () as mature_dates
    from mature_cohort_dates
),

split as (
    select
        cohorts.*,
        coalesce(mature_dates.recency_rank <= ceil(mature_dates.mature_dates * {{ var('ltv_holdout_share') }}), false)
            as is_holdout,
        coalesce(mature_dates.recency_rank > ceil(mature_dates.mature_dates * {{ var('ltv_holdout_share') }}), false)
            as is_training
    from cohorts
    left join mature_dates
        on cohorts.cohort_date = mature_dates.cohort_date
),

channel_multipliers as (
    select
        acquisition_channel,
        case when sum(margin_usd_d7) > 0 then sum(margin_usd_d90) / sum(margin_usd_d7) end as multiplier_d7_to_d90,
        case when sum(margin_usd_d30) > 0 then sum(margin_usd_d90) / sum(margin_usd_d30) end as multiplier_d30_to_d90
    from split
    where is_training
    group by acquisition_channel
),

overall_multipliers as (
    select
        case when sum(margin_usd_d7) > 0 then sum(margin_usd_d90) / sum(margin_usd_d7) end as multiplier_d7_to_d90,
        case when sum(margin_usd_d30) > 0 then sum(margin_usd_d90) / sum(margin_usd_d30) end as multiplier_d30_to_d90
    from split
    where is_training
),

forecast as (
    select
        split.*,
        spend.spend_usd,
        cast(coalesce(channel.multiplier_d7_to_d90, overall.multiplier_d7_to_d90) as {{ type_float64() }})
            as multiplier_d7_to_d90,
        cast(coalesce(channel.multiplier_d30_to_d90, overall.multiplier_d30_to_d90) as {{ type_float64() }})
            as multiplier_d30_to_d90
    from split
    cross join overall_multipliers as overall
    left join channel_multipliers as channel
        on split.acquisition_channel = channel.acquisition_channel
    left join spend
        on split.cohort_date = spend.cohort_date
        and split.acquisition_channel = spend.acquisition_channel
),

estimated as (
    select
        *,
        cast(margin_usd_d7 as {{ type_float64() }}) * multiplier_d7_to_d90 as forecast_d90_from_d7_usd,
        cast(margin_usd_d30 as {{ type_float64() }}) * multiplier_d30_to_d90 as forecast_d90_from_d30_usd
    from forecast
),

final as (
    select
        -- keys
        cohort_date,
        acquisition_channel,

        -- cohort
        cast(days_since_signup as {{ dbt.type_bigint() }}) as days_since_signup,
        cast(users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04
        cast(spend_usd as numeric) as spend_usd,
        is_training,
        is_holdout,

        -- observed (NULL until the horizon has elapsed)
        cast(margin_usd_d7 as numeric) as margin_usd_d7,
        cast(margin_usd_d30 as numeric) as margin_usd_d30,
        cast(margin_usd_d90 as numeric) as margin_usd_d90,

        -- model
        multiplier_d7_to_d90,
        multiplier_d30_to_d90,
        forecast_d90_from_d7_usd,
        forecast_d90_from_d30_usd,

        -- best d90 estimate: observed, else forecast from the latest horizon reached
        case
            when margin_usd_d90 is not null then cast(margin_usd_d90 as {{ type_float64() }})
            when forecast_d90_from_d30_usd is not null then forecast_d90_from_d30_usd
            else forecast_d90_from_d7_usd
        end as ltv_d90_usd,
        case
            when margin_usd_d90 is not null then 'observed'
            when forecast_d90_from_d30_usd is not null then 'forecast_d30'
            when forecast_d90_from_d7_usd is not null then 'forecast_d7'
            else 'none'
        end as ltv_d90_basis,
        case
            when spend_usd > 0
                then (
                    case
                        when margin_usd_d90 is not null then cast(margin_usd_d90 as {{ type_float64() }})
                        when forecast_d90_from_d30_usd is not null then forecast_d90_from_d30_usd
                        else forecast_d90_from_d7_usd
                    end
                ) / cast(spend_usd as {{ type_float64() }})
        end as roas_d90_estimate
    from estimated
)

select * from final
