-- One row per user and day on which the user has at least one completion (any status).
-- Amounts are the recognised ones of fct_task_completions (zero unless credited).
with

fct_task_completions as (
    select * from {{ ref('fct_task_completions') }}
),

aggregated as (
    select
        -- ids
        user_id,
        completed_date as activity_date,

        -- counts
        count(*) as completions,
        count(case when status = 'pending' then 1 end) as pending_completions,
        count(case when status = 'credited' then 1 end) as credited_completions,
        count(case when status = 'reversed' then 1 end) as reversed_completions,
        count(case when status = 'rejected' then 1 end) as rejected_completions,
        count(distinct offer_id) as distinct_offers,
        count(distinct country) as distinct_countries,

        -- amounts
        sum(payout_usd) as nominal_payout_usd,
        sum(revenue_usd) as revenue_usd,
        sum(reward_cost_usd) as reward_cost_usd,
        sum(margin_usd) as margin_usd,

        -- timestamps
        min(completed_at) as first_completed_at,
        max(completed_at) as last_completed_at
    from fct_task_completions
    group by user_id, completed_date
),

final as (
    select * from aggregated
)

select * from final
