-- One row per acquisition_channel x signup_week (the Monday the ISO week starts) x
-- day_since_signup (0 .. var('cohort_curve_max_day')), for the days that have elapsed for the
-- whole week: day d is shown once the week's last signup day (Sunday) + d is before the as-of
-- date, so every user of the week has d full days behind them and the curve never dips at its
-- end. Cohorts are the users of fct_user_ltv with a signup date; spend is the channel's UA
-- spend on the week's days (all countries and platforms; NULL for unpaid channels).
-- cumulative_* sum days 0 .. day_since_signup; cumulative_roas = cumulative_margin_usd /
-- spend_usd. payback_day: the first day_since_signup whose cumulative margin reaches the
-- spend, given only for cohorts of at least var('min_cohort_users') users (the same value on
-- every row of the cohort; NULL when too small or not reached yet).
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

day_spine as (
    {{ dbt.generate_series(var('cohort_curve_max_day') + 1) }}
),

days as (
    select cast(generated_number - 1 as {{ dbt.type_bigint() }}) as day_since_signup
    from day_spine
),

users as (
    select
        user_id,
        acquisition_channel,
        is_suspected_fraud,
        {{ iso_week_start('signup_date') }} as signup_week
    from fct_user_ltv
    where signup_date is not null
),

cohorts as (
    select
        acquisition_channel,
        signup_week,
        count(*) as users, -- noqa: RF04
        count(case when is_suspected_fraud then 1 end) as suspected_fraud_users
    from users
    group by acquisition_channel, signup_week
),

spend_days as (
    select
        channel as acquisition_channel,
        {{ iso_week_start('spend_date') }} as signup_week,
        spend_usd
    from stg_offerwall__ua_spend_daily
),

spend as (
    select
        acquisition_channel,
        signup_week,
        sum(spend_usd) as spend_usd
    from spend_days
    group by acquisition_channel, signup_week
),

user_days as (
    select
        users.acquisition_channel,
        users.signup_week,
        activity.day_since_signup,
        activity.user_id,
        activity.margin_usd,
        case when users.is_suspected_fraud then 0 else activity.margin_usd end as margin_usd_excl_suspected_fraud,
        activity.expected_margin_usd
    from int_users_activity_by_day as activity
    inner join users
        on activity.user_id = users.user_id
    where activity.day_since_signup between 0 and {{ var('cohort_curve_max_day') }}
),

daily as (
    select
        acquisition_channel,
        signup_week,
        day_since_signup,
        count(distinct user_id) as active_users,
        sum(margin_usd) as margin_usd,
        sum(margin_usd_excl_suspected_fraud) as margin_usd_excl_suspected_fraud,
        sum(expected_margin_usd) as expected_margin_usd
    from user_days
    group by acquisition_channel, signup_week, day_since_signup
),

-- the days elapsed for the whole week: week start + 6 (Sunday) + d < as-of date
grid as (
    select
        cohorts.acquisition_channel,
        cohorts.signup_week,
        days.day_since_signup,
        cohorts.users,
        cohorts.suspected_fraud_users,
        as_of.as_of_date
    from cohorts
    cross join days
    cross join int_warehouse_as_of as as_of
    where days.day_since_signup + 7 <= {{ days_between('cohorts.signup_week', 'as_of.as_of_date') }}
),

curves as (
    select
        grid.acquisition_channel,
        grid.signup_week,
        grid.day_since_signup,
        grid.as_of_date,
        grid.users,
        grid.suspected_fraud_users,
        coalesce(daily.active_users, 0) as active_users,
        spend.spend_usd,
        sum(coalesce(daily.margin_usd, 0)) over (
            partition by grid.acquisition_channel, grid.signup_week
            order by grid.day_since_signup
            rows between unbounded preceding and current row
        ) as cumulative_margin_usd,
        sum(coalesce(daily.margin_usd_excl_suspected_fraud, 0)) over (
            partition by grid.acquisition_channel, grid.signup_week
            order by grid.day_since_signup
            rows between unbounded preceding and current row
        ) as cumulative_margin_usd_excl_suspected_fraud,
        sum(coalesce(daily.expected_margin_usd, 0)) over (
            partition by grid.acquisition_channel, grid.signup_week
            order by grid.day_since_signup
            rows between unbounded preceding and current row
        ) as cumulative_expected_margin_usd
    from grid
    left join daily
        on grid.acquisition_channel = daily.acquisition_channel
        and grid.signup_week = daily.signup_week
        and grid.day_since_signup = daily.day_since_signup
    left join spend
        on grid.acquisition_channel = spend.acquisition_channel
        and grid.signup_week = spend.signup_week
),

payback as (
    select
        acquisition_channel,
        signup_week,
        min(day_since_signup) as payback_day
    from curves
    where
        users >= {{ var('min_cohort_users') }}
        and spend_usd > 0
        and cumulative_margin_usd >= spend_usd
    group by acquisition_channel, signup_week
),

final as (
    select
        -- keys
        curves.acquisition_channel,
        curves.signup_week,
        curves.day_since_signup,

        -- flags
        {{ is_paid_channel('curves.acquisition_channel') }} as is_paid_channel,

        -- as of
        curves.as_of_date,

        -- users
        cast(curves.users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04
        cast(curves.suspected_fraud_users as {{ dbt.type_bigint() }}) as suspected_fraud_users,
        cast(curves.active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(curves.active_users as {{ type_float64() }}) / curves.users as retention_rate,

        -- money (USD)
        cast(curves.spend_usd as numeric) as spend_usd,
        cast(curves.cumulative_margin_usd as numeric) as cumulative_margin_usd,
        cast(curves.cumulative_margin_usd_excl_suspected_fraud as numeric)
            as cumulative_margin_usd_excl_suspected_fraud,
        cast(curves.cumulative_expected_margin_usd as numeric) as cumulative_expected_margin_usd,
        {{ rounded_ratio('curves.cumulative_margin_usd', 'curves.spend_usd') }} as cumulative_roas,
        {{ rounded_ratio('curves.cumulative_margin_usd_excl_suspected_fraud', 'curves.spend_usd') }}
            as cumulative_roas_excl_suspected_fraud,

        -- payback (per channel x signup week)
        cast(payback.payback_day as {{ dbt.type_bigint() }}) as payback_day
    from curves
    left join payback
        on curves.acquisition_channel = payback.acquisition_channel
        and curves.signup_week = payback.signup_week
)

select * from final
