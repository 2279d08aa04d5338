-- One row per user (every user of dim_users): recognised margin to date and at d7/d30/d90.
-- Margin at dN = recognised margin_usd of the user's completions with
-- completed_date < signup_date + N days (the signup day is day 0), in their latest state.
-- A horizon stays NULL until it has fully elapsed: signup_date + N days <= as-of date.
-- The horizons 7, 30 and 90 days are the contract's column names (margin_usd_d7, ...).
with

dim_users as (
    select * from {{ ref('dim_users') }}
),

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

as_of as (
    select cast({{ as_of_timestamp() }} as date) as as_of_date
),

completions_since_signup as (
    select
        completions.user_id,
        completions.margin_usd,
        completions.revenue_usd,
        completions.reward_cost_usd,
        {{ days_between('signups.signup_date', 'completions.completed_date') }} as day_number
    from fct_task_completions as completions
    left join dim_users as signups
        on completions.user_id = signups.user_id
),

completions_by_user as (
    select
        user_id,
        sum(margin_usd) as margin_usd_to_date,
        sum(revenue_usd) as revenue_usd_to_date,
        sum(reward_cost_usd) as reward_cost_usd_to_date,
        sum(case when day_number < 7 then margin_usd else 0 end) as margin_usd_within_d7,
        sum(case when day_number < 30 then margin_usd else 0 end) as margin_usd_within_d30,
        sum(case when day_number < 90 then margin_usd else 0 end) as margin_usd_within_d90
    from completions_since_signup
    group by user_id
),

users_as_of as (
    select
        dim_users.*,
        as_of.as_of_date,
        {{ days_between('dim_users.signup_date', 'as_of.as_of_date') }} as days_since_signup
    from dim_users
    cross join as_of
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
        cast(coalesce(completions.revenue_usd_to_date, 0) as numeric) as revenue_usd_to_date,
        cast(coalesce(completions.reward_cost_usd_to_date, 0) as numeric) as reward_cost_usd_to_date,
        cast(coalesce(completions.margin_usd_to_date, 0) as numeric) as margin_usd_to_date,
        case
            when signups.days_since_signup >= 7
                then cast(coalesce(completions.margin_usd_within_d7, 0) as numeric)
        end as margin_usd_d7,
        case
            when signups.days_since_signup >= 30
                then cast(coalesce(completions.margin_usd_within_d30, 0) as numeric)
        end as margin_usd_d30,
        case
            when signups.days_since_signup >= 90
                then cast(coalesce(completions.margin_usd_within_d90, 0) as numeric)
        end as margin_usd_d90
    from users_as_of as signups
    left join completions_by_user as completions
        on signups.user_id = completions.user_id
)

select * from final
