-- Anti-Fraud: the first 20 users of the review queue (largest money at risk first) with the
-- signals that put them there.
-- Compile: dbt compile -s fraud_queue_top_20; run the SQL in target/compiled/.
with

fct_fraud_review_queue as (
    select * from {{ ref('fct_fraud_review_queue') }}
),

final as (
    select
        review_rank,
        user_id,
        acquisition_channel,
        risk_score,
        suspected_fraud_type,
        money_at_risk_usd,
        completions,
        device_sharing_users,
        network_sharing_users,
        completions_per_active_day,
        fast_completion_share,
        chargeback_rate,
        distinct_countries,
        last_completed_at
    from fct_fraud_review_queue
    where review_rank <= 20
)

select * from final
order by review_rank
