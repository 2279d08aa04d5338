-- One row per user (every user of dim_users): recognised margin to date and at each horizon dN
-- of var('ltv_horizon_days') (7, 30, 90: the contract's column names margin_usd_d7, ...).
-- Margin at dN = recognised margin_usd of the user's completions with
-- completed_date < signup_date + N days (the signup day is day 0), in their latest state.
-- A horizon stays NULL until it has fully elapsed: signup_date + N days <= as-of date.
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

activity_by_user as (
    select
        user_id,
        {% for days in var('ltv_horizon_days') -%}
            sum(case when day_since_signup < {{ days }} then margin_usd else 0 end) as margin_usd_within_d{{ days }},
        {% endfor -%}
        sum(margin_usd) as margin_usd_to_date,
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

final as (
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
        cast(coalesce(activity.margin_usd_to_date, 0) as numeric) as margin_usd_to_date
    from users_as_of as signups
    left join activity_by_user as activity
        on signups.user_id = activity.user_id
)

select * from final
