-- One row per user (every user of dim_users): recognised margin to date and at each horizon dN
-- of var('ltv_horizon_days') (7, 30, 90: the contract's column names margin_usd_d7, ...).
-- Margin at dN = recognised margin_usd of the user's completions with
-- completed_date < signup_date + N days (the signup day is day 0), in their latest state.
-- A horizon stays NULL until it has fully elapsed: signup_date + N days <= as-of date.
-- Fraud (issue 11): risk_tier as of this build from fct_user_fraud_signals (NULL for a user with
-- no completion: not scored); is_suspected_fraud = risk_tier 'high' (the review queue's
-- population). Each margin column has an _excl_suspected_fraud twin: the same value for a
-- user not suspected, 0 for a suspected one (NULL while the horizon has not elapsed), so a
-- cohort's sum of the twin is its margin without its suspected fraudsters.
-- expected_margin_usd_to_date: pending and young credited completions valued at their learned
-- outcome probabilities (int_completions_expected_margin).
with

dim_users as (
    select * from {{ ref('dim_users') }}
),

int_users_activity_by_day as (
    select * from {{ ref('int_users_activity_by_day') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

activity_by_user as (
    select
        user_id,
        {% for days in var('ltv_horizon_days') -%}
            sum(case when day_since_signup < {{ days }} then margin_usd else 0 end) as margin_usd_within_d{{ days }},
        {% endfor -%}
        sum(margin_usd) as margin_usd_to_date,
        sum(expected_margin_usd) as expected_margin_usd_to_date,
        sum(revenue_usd) as revenue_usd_to_date,
        sum(reward_cost_usd) as reward_cost_usd_to_date
    from int_users_activity_by_day
    group by user_id
),

users_as_of as (
    select
        dim_users.*,
        as_of.as_of_date,
        {{ days_between('dim_users.signup_date', 'as_of.as_of_date') }} as days_since_signup
    from dim_users
    cross join int_warehouse_as_of as as_of
),

users_with_fraud as (
    select
        users_as_of.*,
        fraud.risk_tier,
        coalesce(fraud.risk_tier = 'high', false) as is_suspected_fraud
    from users_as_of
    left join fct_user_fraud_signals as fraud
        on users_as_of.user_id = fraud.user_id
),

ltv as (
    select
        -- ids
        signups.user_id,

        -- cohort dimensions
        signups.signup_date,
        signups.acquisition_channel,
        signups.country,
        signups.platform,
        signups.is_paid_channel,

        -- as of
        signups.as_of_date,
        cast(signups.days_since_signup as {{ dbt.type_bigint() }}) as days_since_signup,

        -- amounts (recognised, USD)
        -- (column order: the contract's; dN before to-date here only so the loop ends with a comma)
        {% for days in var('ltv_horizon_days') -%}
            case
                when signups.days_since_signup >= {{ days }}
                    then cast(coalesce(activity.margin_usd_within_d{{ days }}, 0) as numeric)
            end as margin_usd_d{{ days }},
        {% endfor -%}
        cast(coalesce(activity.revenue_usd_to_date, 0) as numeric) as revenue_usd_to_date,
        cast(coalesce(activity.reward_cost_usd_to_date, 0) as numeric) as reward_cost_usd_to_date,
        cast(coalesce(activity.margin_usd_to_date, 0) as numeric) as margin_usd_to_date,

        -- fraud (as of this build)
        signups.risk_tier,
        signups.is_suspected_fraud,

        -- expected (pending and young credits at their learned outcome probabilities)
        cast(coalesce(activity.expected_margin_usd_to_date, 0) as numeric) as expected_margin_usd_to_date
    from users_with_fraud as signups
    left join activity_by_user as activity
        on signups.user_id = activity.user_id
),

-- the fraud-excluded twins: 0 for a suspected user, the margin otherwise (NULL stays NULL)
final as (
    select
        *,
        {% for days in var('ltv_horizon_days') -%}
            case
                when is_suspected_fraud and margin_usd_d{{ days }} is not null then cast(0 as numeric)
                else margin_usd_d{{ days }}
            end as margin_usd_d{{ days }}_excl_suspected_fraud,
        {% endfor -%}
        case
            when is_suspected_fraud then cast(0 as numeric) else margin_usd_to_date
        end as margin_usd_to_date_excl_suspected_fraud
    from ltv
)

select * from final
