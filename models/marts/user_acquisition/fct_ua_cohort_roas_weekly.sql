-- One row per signup week (ISO, from Monday) x acquisition_channel x country x platform x
-- fraud_scope, with 'all' roll-ups of channel, country and platform: users, spend and cumulative
-- recognised margin at d7/d30/d90 and ROAS, for all users and without the suspected fraudsters
-- (risk_tier high in fct_user_fraud_signals). Spend is the same in both scopes (it bought every
-- user), so the excluding scope shows the ROAS the channel really earns.
-- A horizon is NULL until every user of the row has reached it.
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
        ltv.signup_date as cohort_date,
        coalesce(ltv.acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(ltv.country, 'unknown') as country,
        coalesce(ltv.platform, 'unknown') as platform,
        coalesce(signals.risk_tier = 'high', false) as is_suspected_fraud,
        ltv.margin_usd_d7,
        ltv.margin_usd_d30,
        ltv.margin_usd_d90
    from fct_user_ltv as ltv
    left join fct_user_fraud_signals as signals
        on ltv.user_id = signals.user_id
    where ltv.signup_date is not null
),

scopes as (
    select 'all_users' as fraud_scope
    union all
    select 'excluding_suspected_fraud' as fraud_scope
),

base as (
    select
        users.cohort_date,
        users.acquisition_channel,
        users.country,
        users.platform,
        scopes.fraud_scope,
        1 as users, -- noqa: RF04
        users.margin_usd_d7,
        users.margin_usd_d30,
        users.margin_usd_d90,
        cast(0 as numeric) as spend_usd
    from users
    cross join scopes
    where scopes.fraud_scope = 'all_users' or not users.is_suspected_fraud
    union all
    select
        cohorts.cohort_date,
        cohorts.acquisition_channel,
        cohorts.country,
        cohorts.platform,
        scopes.fraud_scope,
        0 as users, -- noqa: RF04
        null as margin_usd_d7,
        null as margin_usd_d30,
        null as margin_usd_d90,
        cohorts.spend_usd
    from fct_ua_cohorts as cohorts
    cross join scopes
    where cohorts.spend_usd > 0
),

channel_levels as (
    select false as all_channels
    union all
    select true as all_channels
),

country_levels as (
    select false as all_countries
    union all
    select true as all_countries
),

platform_levels as (
    select false as all_platforms
    union all
    select true as all_platforms
),

rolled as (
    select
        {{ iso_week_start('base.cohort_date') }} as cohort_week,
        case when channel_levels.all_channels then 'all' else base.acquisition_channel end as acquisition_channel,
        case when country_levels.all_countries then 'all' else base.country end as country,
        case when platform_levels.all_platforms then 'all' else base.platform end as platform,
        base.fraud_scope,
        base.users,
        base.margin_usd_d7,
        base.margin_usd_d30,
        base.margin_usd_d90,
        base.spend_usd
    from base
    cross join channel_levels
    cross join country_levels
    cross join platform_levels
),

aggregated as (
    select
        cohort_week,
        acquisition_channel,
        country,
        platform,
        fraud_scope,
        sum(users) as users, -- noqa: RF04
        sum(spend_usd) as spend_usd,
        case when count(margin_usd_d7) = sum(users) then sum(margin_usd_d7) end as margin_usd_d7,
        case when count(margin_usd_d30) = sum(users) then sum(margin_usd_d30) end as margin_usd_d30,
        case when count(margin_usd_d90) = sum(users) then sum(margin_usd_d90) end as margin_usd_d90
    from rolled
    group by cohort_week, acquisition_channel, country, platform, fraud_scope
),

final as (
    select
        -- keys
        cast(cohort_week as date) as cohort_week,
        acquisition_channel,
        country,
        platform,
        fraud_scope,

        -- users and spend
        cast(users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04
        cast(spend_usd as numeric) as spend_usd,
        case
            when users > 0 and spend_usd > 0
                then cast(spend_usd as {{ type_float64() }}) / users
        end as cac_usd,

        -- cumulative recognised margin
        cast(margin_usd_d7 as numeric) as margin_usd_d7,
        cast(margin_usd_d30 as numeric) as margin_usd_d30,
        cast(margin_usd_d90 as numeric) as margin_usd_d90,

        -- return on ad spend
        case
            when spend_usd > 0
                then cast(margin_usd_d7 as {{ type_float64() }}) / cast(spend_usd as {{ type_float64() }})
        end as roas_d7,
        case
            when spend_usd > 0
                then cast(margin_usd_d30 as {{ type_float64() }}) / cast(spend_usd as {{ type_float64() }})
        end as roas_d30,
        case
            when spend_usd > 0
                then cast(margin_usd_d90 as {{ type_float64() }}) / cast(spend_usd as {{ type_float64() }})
        end as roas_d90
    from aggregated
)

select * from final
