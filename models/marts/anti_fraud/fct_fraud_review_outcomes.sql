-- One row per risk tier at decision x suspected fraud type, plus roll-up rows ('all'): how the
-- score fares against the reviewers' verdicts (the latest decision per user counts).
-- score_precision = confirmed_fraud / (confirmed_fraud + cleared); needs_more_info is still open.
-- The tier is the one the reviewer saw (risk_score_at_decision against today's tier vars);
-- the fraud type is the user's current suspected_fraud_type ('unknown' when the user no longer
-- has signals). Time to decision: hours from the user's first completion to their first
-- decision (how long a user earned before anyone looked), median and mean.
with

fct_fraud_review_status as (
    select * from {{ ref('fct_fraud_review_status') }}
),

fct_user_fraud_signals as (
    select * from {{ ref('fct_user_fraud_signals') }}
),

reviewed_users as (
    select
        status.user_id,
        status.review_status,
        status.has_disagreement,
        case
            when status.risk_score_at_decision >= {{ var('anti_fraud_high_tier_min_score') }} then 'high'
            when status.risk_score_at_decision >= {{ var('anti_fraud_medium_tier_min_score') }} then 'medium'
            else 'low'
        end as risk_tier,
        coalesce(signals.suspected_fraud_type, 'unknown') as suspected_fraud_type,
        cast(
            {{ dbt.datediff('signals.first_completed_at', 'status.first_decided_at', 'second') }}
            as {{ type_float64() }}
        ) / 3600 as hours_to_decision
    from fct_fraud_review_status as status
    left join fct_user_fraud_signals as signals
        on status.user_id = signals.user_id
),

-- each user counts in its own (tier, type) row, its tier's 'all' row and the overall row
levels as (
    select
        false as all_tiers,
        false as all_types
    union all
    select
        false as all_tiers,
        true as all_types
    union all
    select
        true as all_tiers,
        true as all_types
),

rolled as (
    select
        case when levels.all_tiers then 'all' else reviewed_users.risk_tier end as risk_tier,
        case when levels.all_types then 'all' else reviewed_users.suspected_fraud_type end as suspected_fraud_type,
        reviewed_users.user_id,
        reviewed_users.review_status,
        reviewed_users.has_disagreement,
        reviewed_users.hours_to_decision
    from reviewed_users
    cross join levels
),

with_median as (
    select
        *,
        {{ median_over('hours_to_decision', 'risk_tier, suspected_fraud_type') }} as median_hours_to_decision
    from rolled
),

aggregated as (
    select
        risk_tier,
        suspected_fraud_type,
        count(*) as reviewed_users,
        count(case when review_status = 'confirmed_fraud' then 1 end) as confirmed_fraud_users,
        count(case when review_status = 'cleared' then 1 end) as cleared_users,
        count(case when review_status = 'needs_more_info' then 1 end) as needs_more_info_users,
        count(case when has_disagreement then 1 end) as disputed_users,
        max(median_hours_to_decision) as median_hours_to_decision,
        avg(hours_to_decision) as mean_hours_to_decision
    from with_median
    group by risk_tier, suspected_fraud_type
),

final as (
    select
        -- keys
        risk_tier,
        suspected_fraud_type,

        -- counts (users, by their latest decision)
        cast(reviewed_users as {{ dbt.type_bigint() }}) as reviewed_users,
        cast(confirmed_fraud_users as {{ dbt.type_bigint() }}) as confirmed_fraud_users,
        cast(cleared_users as {{ dbt.type_bigint() }}) as cleared_users,
        cast(needs_more_info_users as {{ dbt.type_bigint() }}) as needs_more_info_users,
        cast(disputed_users as {{ dbt.type_bigint() }}) as disputed_users,

        -- score quality
        case
            when confirmed_fraud_users + cleared_users > 0
                then cast(confirmed_fraud_users as {{ type_float64() }})
                    / (confirmed_fraud_users + cleared_users)
        end as score_precision,

        -- speed
        cast(median_hours_to_decision as {{ type_float64() }}) as median_hours_to_decision,
        cast(mean_hours_to_decision as {{ type_float64() }}) as mean_hours_to_decision
    from aggregated
)

select * from final
