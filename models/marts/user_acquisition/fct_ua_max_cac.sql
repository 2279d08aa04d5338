-- One row per paid acquisition_channel x country (and 'all' countries): the most a user may
-- cost to pay back within var ua_payback_target_days days (7, 30 or 90) = recognised margin
-- per user by that day, over the cohorts that have reached it; beside the CAC actually paid
-- for the same cohorts. Also without the suspected fraudsters' margin (risk_tier high): what
-- the channel is worth once the fraud it brings is stopped.
{%- set target_days = var('ua_payback_target_days') | int %}
{%- if target_days not in [7, 30, 90] %}
    {{ exceptions.raise_compiler_error("var ua_payback_target_days must be 7, 30 or 90, got " ~ target_days) }}
{%- endif %}
with

fct_user_ltv as (
    select * from {{ ref('fct_user_ltv') }}
),

fct_ua_cohorts as (
    select * from {{ ref('fct_ua_cohorts') }}
),

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

users as (
    select
        ltv.acquisition_channel,
        ltv.country,
        ltv.signup_date,
        ltv.margin_usd_d{{ target_days }} as margin_usd,
        case when coalesce(signals.risk_tier = 'high', false) then 0 else ltv.margin_usd_d{{ target_days }} end
            as margin_usd_excluding_fraud
    from fct_user_ltv as ltv
    left join fct_user_fraud_signals as signals
        on ltv.user_id = signals.user_id
    where
        ltv.is_paid_channel
        and ltv.margin_usd_d{{ target_days }} is not null
),

spend as (
    select
        acquisition_channel,
        country,
        cohort_date,
        spend_usd
    from fct_ua_cohorts
    where
        is_paid_channel
        and days_since_signup >= {{ target_days }}
        and spend_usd > 0
),

rows_by_country as (
    select
        acquisition_channel,
        country,
        signup_date as cohort_date,
        1 as users, -- noqa: RF04
        margin_usd,
        margin_usd_excluding_fraud,
        cast(0 as numeric) as spend_usd
    from users
    union all
    select
        acquisition_channel,
        country,
        cohort_date,
        0 as users, -- noqa: RF04
        0 as margin_usd,
        0 as margin_usd_excluding_fraud,
        spend_usd
    from spend
),

rolled as (
    select * from rows_by_country
    union all
    select
        acquisition_channel,
        'all' as country,
        cohort_date,
        users, -- noqa: RF04
        margin_usd,
        margin_usd_excluding_fraud,
        spend_usd
    from rows_by_country
),

aggregated as (
    select
        acquisition_channel,
        country,
        min(cohort_date) as first_cohort_date,
        max(cohort_date) as last_cohort_date,
        sum(users) as users, -- noqa: RF04
        sum(spend_usd) as spend_usd,
        sum(margin_usd) as margin_usd,
        sum(margin_usd_excluding_fraud) as margin_usd_excluding_fraud
    from rolled
    group by acquisition_channel, country
),

final as (
    select
        -- keys
        acquisition_channel,
        country,

        -- cohorts used
        cast({{ target_days }} as {{ dbt.type_bigint() }}) as target_payback_days,
        first_cohort_date,
        last_cohort_date,
        cast(users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04
        cast(spend_usd as numeric) as spend_usd,
        cast(margin_usd as numeric) as margin_usd_at_target,

        -- CAC
        case
            when users > 0 and spend_usd > 0
                then cast(spend_usd as {{ type_float64() }}) / users
        end as current_cac_usd,
        case when users > 0 then cast(margin_usd as {{ type_float64() }}) / users end as max_cac_usd,
        case when users > 0 then cast(margin_usd_excluding_fraud as {{ type_float64() }}) / users end
            as max_cac_excluding_fraud_usd,
        case
            when users > 0 and spend_usd > 0
                then (cast(margin_usd as {{ type_float64() }}) - cast(spend_usd as {{ type_float64() }})) / users
        end as cac_headroom_usd,
        coalesce(users > 0 and margin_usd >= spend_usd, false) as pays_back
    from aggregated
)

select * from final
