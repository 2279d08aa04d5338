-- One row per acquisition_channel x signup_week (the Monday the ISO week starts) x
-- day_since_first_reward (0 .. var('first_reward_retention_max_day')): do users come back once
-- they have been paid, or do "incentive hunters" complete the minimum and churn?
-- The first reward is the user's first day with a completion they were credited for (credited
-- in its latest state, or reversed: credited, then charged back). The cohort's rewarded users
-- are its users (fct_user_ltv, as the cohort curves) whose first reward falls on days
-- 0 .. var('first_reward_cohort_days') - 1 since signup, so the cohort is closed once that
-- window has passed for the week's last signup day. Day d is shown once it has elapsed for
-- every rewarded user: week start + 6 + (first_reward_cohort_days - 1) + d < as-of date (the
-- curves' rule, with the reward window added), so a curve never dips at its end.
-- active_users: rewarded users with a completion (any status) on first reward day + d (day 0 is
-- the reward day: every rewarded user). incentive_hunters: rewarded users with no completion on
-- days 1 .. var('incentive_hunter_window_days') after their first reward, per cohort (the same
-- on every row; NULL until that window has elapsed for every rewarded user).
with

fct_user_ltv as (
    select * from {{ ref('fct_user_ltv') }}
),

int_users_activity_by_day as (
    select * from {{ ref('int_users_activity_by_day') }}
),

int_warehouse_as_of as (
    select * from {{ ref('int_warehouse_as_of') }}
),

day_spine as (
    {{ dbt.generate_series(var('first_reward_retention_max_day') + 1) }}
),

days as (
    select cast(generated_number - 1 as {{ dbt.type_bigint() }}) as day_since_first_reward
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

first_rewards as (
    select
        user_id,
        min(activity_date) as first_reward_date,
        min(day_since_signup) as first_reward_day_since_signup
    from int_users_activity_by_day
    where credited_completions + reversed_completions > 0
    group by user_id
),

rewarded as (
    select
        users.user_id,
        users.acquisition_channel,
        users.signup_week,
        users.is_suspected_fraud,
        first_rewards.first_reward_date
    from users
    inner join first_rewards
        on users.user_id = first_rewards.user_id
    where first_rewards.first_reward_day_since_signup between 0 and {{ var('first_reward_cohort_days') - 1 }}
),

-- each rewarded user's days with a completion, from the first reward on
rewarded_days as (
    select
        rewarded.user_id,
        rewarded.acquisition_channel,
        rewarded.signup_week,
        rewarded.is_suspected_fraud,
        {{ days_between('rewarded.first_reward_date', 'activity.activity_date') }} as day_since_first_reward
    from rewarded
    inner join int_users_activity_by_day as activity
        on rewarded.user_id = activity.user_id
    where activity.activity_date >= rewarded.first_reward_date
),

-- rewarded users who came back within the incentive-hunter window
returners as (
    select distinct user_id
    from rewarded_days
    where day_since_first_reward between 1 and {{ var('incentive_hunter_window_days') }}
),

cohort_users as (
    select
        users.acquisition_channel,
        users.signup_week,
        users.is_suspected_fraud,
        rewarded.user_id is not null as is_rewarded,
        rewarded.user_id is not null and returners.user_id is null as is_incentive_hunter
    from users
    left join rewarded
        on users.user_id = rewarded.user_id
    left join returners
        on users.user_id = returners.user_id
),

cohorts as (
    select
        acquisition_channel,
        signup_week,
        count(*) as users, -- noqa: RF04
        count(case when is_rewarded then 1 end) as rewarded_users,
        count(case when is_rewarded and not is_suspected_fraud then 1 end) as rewarded_users_excl_suspected_fraud,
        count(case when is_incentive_hunter then 1 end) as incentive_hunters,
        count(case when is_incentive_hunter and not is_suspected_fraud then 1 end)
            as incentive_hunters_excl_suspected_fraud
    from cohort_users
    group by acquisition_channel, signup_week
),

-- one row per user and day in rewarded_days (int_users_activity_by_day is user x day)
daily as (
    select
        acquisition_channel,
        signup_week,
        day_since_first_reward,
        count(*) as active_users,
        count(case when not is_suspected_fraud then 1 end) as active_users_excl_suspected_fraud
    from rewarded_days
    where day_since_first_reward <= {{ var('first_reward_retention_max_day') }}
    group by acquisition_channel, signup_week, day_since_first_reward
),

-- the days elapsed for every rewarded user: the latest possible first reward is
-- week start + 6 + (first_reward_cohort_days - 1); its day d is over when that + d < as-of date
grid as (
    select
        cohorts.*,
        days.day_since_first_reward,
        as_of.as_of_date,
        {{ days_between('cohorts.signup_week', 'as_of.as_of_date') }}
        >= 6 + {{ var('first_reward_cohort_days') }} + {{ var('incentive_hunter_window_days') }}
            as is_hunter_window_elapsed
    from cohorts
    cross join days
    cross join int_warehouse_as_of as as_of
    where
        days.day_since_first_reward + 6 + {{ var('first_reward_cohort_days') }}
        <= {{ days_between('cohorts.signup_week', 'as_of.as_of_date') }}
),

-- short names: the ratio macro writes both operands on one line
retention as (
    select
        grid.acquisition_channel,
        grid.signup_week,
        grid.day_since_first_reward,
        grid.as_of_date,
        grid.users,
        grid.rewarded_users as rewarded,
        grid.rewarded_users_excl_suspected_fraud as rewarded_excl_fraud,
        coalesce(daily.active_users, 0) as active,
        coalesce(daily.active_users_excl_suspected_fraud, 0) as active_excl_fraud,
        case when grid.is_hunter_window_elapsed then grid.incentive_hunters end as hunters,
        case when grid.is_hunter_window_elapsed then grid.incentive_hunters_excl_suspected_fraud end
            as hunters_excl_fraud
    from grid
    left join daily
        on grid.acquisition_channel = daily.acquisition_channel
        and grid.signup_week = daily.signup_week
        and grid.day_since_first_reward = daily.day_since_first_reward
),

final as (
    select
        -- keys
        acquisition_channel,
        signup_week,
        day_since_first_reward,

        -- flags
        {{ is_paid_channel('acquisition_channel') }} as is_paid_channel,

        -- as of
        as_of_date,

        -- users
        cast(users as {{ dbt.type_bigint() }}) as users, -- noqa: RF04
        cast(rewarded as {{ dbt.type_bigint() }}) as rewarded_users,
        cast(active as {{ dbt.type_bigint() }}) as active_users,
        {{ rounded_ratio('active', 'rewarded') }} as retention_rate,

        -- incentive hunters (per cohort; NULL until the window has elapsed)
        cast(hunters as {{ dbt.type_bigint() }}) as incentive_hunters,
        {{ rounded_ratio('hunters', 'rewarded') }} as incentive_hunter_share,

        -- without the suspected fraudsters
        cast(rewarded_excl_fraud as {{ dbt.type_bigint() }}) as rewarded_users_excl_suspected_fraud,
        cast(active_excl_fraud as {{ dbt.type_bigint() }}) as active_users_excl_suspected_fraud,
        {{ rounded_ratio('active_excl_fraud', 'rewarded_excl_fraud') }} as retention_rate_excl_suspected_fraud,
        cast(hunters_excl_fraud as {{ dbt.type_bigint() }}) as incentive_hunters_excl_suspected_fraud,
        {{ rounded_ratio('hunters_excl_fraud', 'rewarded_excl_fraud') }} as incentive_hunter_share_excl_suspected_fraud
    from retention
)

select * from final
