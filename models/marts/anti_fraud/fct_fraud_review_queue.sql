-- The anti-fraud team's work list: every high-risk user, ranked by money at risk (credited and
-- pending rewards), largest first. review_rank is the order to work in (a table has no order).
with

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

final as (
    select
        row_number() over (order by money_at_risk_usd desc, risk_score desc, user_id asc) as review_rank,
        user_id,
        signup_date,
        acquisition_channel,
        risk_score,
        risk_tier,
        suspected_fraud_type,
        money_at_risk_usd,
        nominal_payout_usd,
        completions,
        device_sharing_users,
        network_sharing_users,
        completions_per_active_day,
        fast_completion_share,
        chargeback_rate,
        distinct_countries,
        top_offer_payout_share,
        last_completed_at
    from fct_user_fraud_signals
    where risk_tier = 'high'
)

select * from final
