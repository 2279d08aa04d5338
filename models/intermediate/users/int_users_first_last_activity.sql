-- One row per user with at least one completion: first and last activity and lifetime totals.
-- The per-user figures are computed here once; dim_users and fct_user_fraud_signals read them.
with

int_users_activity_by_day as (
    select * from {{ ref('int_users_activity_by_day') }}
),

aggregated as (
    select
        -- ids
        user_id,

        -- activity
        min(activity_date) as first_activity_date,
        max(activity_date) as last_activity_date,
        count(*) as active_days,
        max(completions) as max_completions_per_day,

        -- counts
        sum(completions) as completions,
        {% for status in var('completion_statuses') -%}
            sum({{ status }}_completions) as {{ status }}_completions,
        {% endfor %}
        -- amounts
        sum(nominal_payout_usd) as nominal_payout_usd,
        sum(revenue_usd) as revenue_usd,
        sum(reward_cost_usd) as reward_cost_usd,
        sum(margin_usd) as margin_usd,

        -- timestamps
        min(first_completed_at) as first_completed_at,
        max(last_completed_at) as last_completed_at
    from int_users_activity_by_day
    group by user_id
),

final as (
    select * from aggregated
)

select * from final
