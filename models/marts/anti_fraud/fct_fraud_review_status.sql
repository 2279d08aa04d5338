-- One row per user with at least one review decision: the decision that counts (the latest;
-- two reviewers deciding the same user both keep their row in the source and the later one
-- wins), how many decisions and reviewers the user had, and whether they disagreed.
-- The review page joins it to the queue to show each user's status.
with

stg_ops__fraud_review_decisions as (
    select * from {{ ref('stg_ops__fraud_review_decisions') }}
),

per_user as (
    select
        user_id,
        count(*) as decisions,
        count(distinct reviewer) as reviewers,
        count(distinct decision) as distinct_decisions,
        min(decided_at) as first_decided_at
    from stg_ops__fraud_review_decisions
    group by user_id
),

latest as (
    select * from stg_ops__fraud_review_decisions
    where latest_for_user
),

final as (
    select
        -- ids
        latest.user_id,
        latest.decision_id as latest_decision_id,

        -- the decision that counts
        latest.decision as review_status,
        latest.reviewer as latest_reviewer,
        latest.note as latest_note,
        latest.risk_score_at_decision,
        latest.score_version,

        -- history
        cast(per_user.decisions as {{ dbt.type_bigint() }}) as decisions,
        cast(per_user.reviewers as {{ dbt.type_bigint() }}) as reviewers,
        per_user.distinct_decisions > 1 as has_disagreement,

        -- timestamps
        per_user.first_decided_at,
        latest.decided_at as latest_decided_at
    from latest
    inner join per_user
        on latest.user_id = per_user.user_id
)

select * from final
