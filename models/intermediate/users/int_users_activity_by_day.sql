-- One row per user and day on which the user has at least one completion (any status), with
-- the day's number since the user's signup (day 0 = signup day; NULL without a users row).
-- The user x day grain every per-user figure starts from: lifetime totals
-- (int_users_first_last_activity -> dim_users), the LTV horizons (fct_user_ltv) and the
-- cohorts' payback day (fct_ua_cohorts), the cohort curves (fct_ua_cohort_curves). Built from
-- int_completions_expected_margin (int_task_completions_versioned, the logic behind
-- fct_task_completions: same rows, plus expected_margin_usd), so no intermediate model reads a
-- mart. Amounts are the recognised ones (zero unless credited), except expected_margin_usd.
{{ config(materialized='table') }}

with

int_completions_expected_margin as (
    select * from {{ ref('int_completions_expected_margin') }}
),

stg_offerwall__users as (
    select * from {{ ref('stg_offerwall__users') }}
),

aggregated as (
    select
        -- ids
        user_id,
        completed_date as activity_date,

        -- counts
        count(*) as completions,
        {% for status in var('completion_statuses') -%}
            count(case when status = '{{ status }}' then 1 end) as {{ status }}_completions,
        {% endfor -%}
        count(distinct offer_id) as distinct_offers,
        count(distinct country) as distinct_countries,

        -- amounts
        sum(payout_usd) as nominal_payout_usd,
        sum(revenue_usd) as revenue_usd,
        sum(reward_cost_usd) as reward_cost_usd,
        sum(margin_usd) as margin_usd,
        sum(expected_margin_usd) as expected_margin_usd,

        -- timestamps
        min(completed_at) as first_completed_at,
        max(completed_at) as last_completed_at
    from int_completions_expected_margin
    group by user_id, completed_date
),

final as (
    select
        aggregated.*,
        signups.signup_date,
        {{ days_between('signups.signup_date', 'aggregated.activity_date') }} as day_since_signup
    from aggregated
    left join stg_offerwall__users as signups
        on aggregated.user_id = signups.user_id
)

select * from final
