-- One row per signup cohort: signup_date x acquisition_channel x country x platform.
-- Spend joins on the same four keys (normalised case). Spend cells with no signup are kept as
-- cohorts with users = 0, so total spend here equals total spend in staging (tested).
-- Organic and referral users carry no spend: spend_usd, CAC and ROAS are NULL for them.
-- The horizons dN come from var('ltv_horizon_days') (7, 30, 90: the contract's column names
-- margin_usd_d7, roas_d7, ...).
-- Fraud (issue 11): suspected_fraud_users counts the cohort's users with is_suspected_fraud (risk
-- tier high as of this build, fct_user_ltv); every margin and ROAS column has an
-- _excl_suspected_fraud twin computed from those users' margin removed (spend unchanged: it
-- was paid for them too).
{%- set cohort_keys = ['cohort_date', 'acquisition_channel', 'country', 'platform'] %}
with

fct_user_ltv as (
    select * from {{ ref('fct_user_ltv') }}
),

int_users_activity_by_day as (
    select * from {{ ref('int_users_activity_by_day') }}
),

stg_offerwall__ua_spend_daily as (
    select * from {{ ref('stg_offerwall__ua_spend_daily') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

signups as (
    select
        user_id,
        signup_date as cohort_date,
        acquisition_channel,
        country,
        platform,
        is_suspected_fraud,
        {% for days in var('ltv_horizon_days') -%}
            margin_usd_d{{ days }},
            margin_usd_d{{ days }}_excl_suspected_fraud,
        {% endfor -%}
        margin_usd_to_date,
        margin_usd_to_date_excl_suspected_fraud
    from fct_user_ltv
    where signup_date is not null
),

signup_cohorts as (
    select
        cohort_date,
        acquisition_channel,
        country,
        platform,
        count(*) as users, -- noqa: RF04
        count(case when is_suspected_fraud then 1 end) as suspected_fraud_users,
        {% for days in var('ltv_horizon_days') -%}
            sum(margin_usd_d{{ days }}) as margin_usd_d{{ days }},
            sum(margin_usd_d{{ days }}_excl_suspected_fraud) as margin_usd_d{{ days }}_excl_suspected_fraud,
        {% endfor -%}
        sum(margin_usd_to_date) as margin_usd_to_date,
        sum(margin_usd_to_date_excl_suspected_fraud) as margin_usd_to_date_excl_suspected_fraud
    from signups
    group by {{ cohort_keys | join(', ') }}
),

-- codes are already trimmed and cased in staging (clean_code), the same way as the users'
spend_cells as (
    select
        spend_date as cohort_date,
        channel as acquisition_channel,
        country,
        platform,
        spend_usd
    from stg_offerwall__ua_spend_daily
),

spend as (
    select
        cohort_date,
        acquisition_channel,
        country,
        platform,
        sum(spend_usd) as spend_usd
    from spend_cells
    group by {{ cohort_keys | join(', ') }}
),

-- Recognised margin of a cohort by day since signup (day 0 = signup day), to find the payback
-- day.
cohort_daily_margin as (
    select
        signups.cohort_date,
        signups.acquisition_channel,
        signups.country,
        signups.platform,
        activity.day_since_signup as day_number,
        activity.margin_usd
    from int_users_activity_by_day as activity
    inner join signups
        on activity.user_id = signups.user_id
),

cohort_margin_by_day as (
    select
        cohort_date,
        acquisition_channel,
        country,
        platform,
        day_number,
        sum(margin_usd) as margin_usd
    from cohort_daily_margin
    group by {{ cohort_keys | join(', ') }}, day_number
),

cohort_cumulative_margin as (
    select
        cohort_date,
        acquisition_channel,
        country,
        platform,
        day_number,
        sum(margin_usd) over (
            partition by {{ cohort_keys | join(', ') }}
            order by day_number
            rows between unbounded preceding and current row
        ) as cumulative_margin_usd
    from cohort_margin_by_day
),

cohorts as (
    select
        coalesce(signup_cohorts.cohort_date, spend.cohort_date) as cohort_date,
        coalesce(signup_cohorts.acquisition_channel, spend.acquisition_channel) as acquisition_channel,
        coalesce(signup_cohorts.country, spend.country) as country,
        coalesce(signup_cohorts.platform, spend.platform) as platform,
        coalesce(signup_cohorts.users, 0) as users, -- noqa: RF04
        coalesce(signup_cohorts.suspected_fraud_users, 0) as suspected_fraud_users,
        spend.spend_usd,
        {% for days in var('ltv_horizon_days') -%}
            signup_cohorts.margin_usd_d{{ days }},
            signup_cohorts.margin_usd_d{{ days }}_excl_suspected_fraud,
        {% endfor -%}
        coalesce(signup_cohorts.margin_usd_to_date, 0) as margin_usd_to_date,
        coalesce(signup_cohorts.margin_usd_to_date_excl_suspected_fraud, 0) as margin_usd_to_date_excl_suspected_fraud
    from signup_cohorts
    full outer join spend
        on
            {%- for key in cohort_keys %}
            {{ 'and ' if not loop.first }}signup_cohorts.{{ key }} = spend.{{ key }}
            {%- endfor %}
),

-- Margin at dN covers days 0 .. N-1, so reaching the spend with day k's completions means
-- payback at N = k + 1.
payback as (
    select
        cohorts.cohort_date,
        cohorts.acquisition_channel,
        cohorts.country,
        cohorts.platform,
        min(cumulative.day_number) + 1 as payback_day
    from cohorts
    inner join cohort_cumulative_margin as cumulative
        on
            {%- for key in cohort_keys %}
            {{ 'and ' if not loop.first }}cohorts.{{ key }} = cumulative.{{ key }}
            {%- endfor %}
    where
        cohorts.spend_usd > 0
        and cumulative.cumulative_margin_usd >= cohorts.spend_usd
    group by cohorts.cohort_date, cohorts.acquisition_channel, cohorts.country, cohorts.platform
),

cohorts_as_of as (
    select
        cohorts.*,
        as_of.as_of_date,
        {{ days_between('cohorts.cohort_date', 'as_of.as_of_date') }} as days_since_signup
    from cohorts
    cross join int_warehouse_as_of as as_of
),

final as (
    select
        -- cohort keys
        cohorts.cohort_date,
        cohorts.acquisition_channel,
        cohorts.country,
        cohorts.platform,

        -- flags
        {{ is_paid_channel('cohorts.acquisition_channel') }} as is_paid_channel,

        -- as of
        cohorts.as_of_date,
        cast(cohorts.days_since_signup as {{ dbt.type_bigint() }}) as days_since_signup,

        -- users and spend
        cast(cohorts.users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04
        cast(cohorts.spend_usd as numeric) as spend_usd,
        case
            when cohorts.users > 0 and cohorts.spend_usd > 0
                then cast(cohorts.spend_usd as {{ type_float64() }}) / cohorts.users
        end as cac_usd,

        -- cumulative recognised margin (NULL until the horizon has elapsed)
        cast(cohorts.margin_usd_to_date as numeric) as margin_usd_to_date,
        {% for days in var('ltv_horizon_days') -%}
            case
                when cohorts.days_since_signup >= {{ days }}
                    then cast(coalesce(cohorts.margin_usd_d{{ days }}, 0) as numeric)
            end as margin_usd_d{{ days }},
        {% endfor -%}
        -- return on ad spend (NULL without spend or before the horizon has elapsed)
        {% for days in var('ltv_horizon_days') -%}
            case
                when cohorts.spend_usd > 0 and cohorts.days_since_signup >= {{ days }}
                    then cast(coalesce(cohorts.margin_usd_d{{ days }}, 0) as {{ type_float64() }})
                        / cast(cohorts.spend_usd as {{ type_float64() }})
            end as roas_d{{ days }},
        {% endfor -%}
        -- payback
        cast(payback.payback_day as {{ dbt.type_bigint() }}) as payback_day,

        -- without the suspected fraudsters (issue 11)
        cast(cohorts.suspected_fraud_users as {{ dbt.type_bigint() }}) as suspected_fraud_users,
        cast(cohorts.margin_usd_to_date_excl_suspected_fraud as numeric) as margin_usd_to_date_excl_suspected_fraud,
        {% for days in var('ltv_horizon_days') -%}
            case
                when cohorts.days_since_signup >= {{ days }}
                    then cast(coalesce(cohorts.margin_usd_d{{ days }}_excl_suspected_fraud, 0) as numeric)
            end as margin_usd_d{{ days }}_excl_suspected_fraud,
            case
                when cohorts.spend_usd > 0 and cohorts.days_since_signup >= {{ days }}
                    then cast(coalesce(cohorts.margin_usd_d{{ days }}_excl_suspected_fraud, 0) as {{ type_float64() }})
                        / cast(cohorts.spend_usd as {{ type_float64() }})
            end as roas_d{{ days }}_excl_suspected_fraud{{ ',' if not loop.last }}
        {% endfor %}
    from cohorts_as_of as cohorts
    left join payback
        on
            {%- for key in cohort_keys %}
            {{ 'and ' if not loop.first }}cohorts.{{ key }} = payback.{{ key }}
            {%- endfor %}
)

select * from final
