-- One row per decision (decision_id), in the order made. The app writes each decision once,
-- but a replica or a retried save can hold a decision_id twice: the copy with the latest
-- decided_at is kept (ties broken by the rest of the row, so reruns pick the same one).
-- latest_for_user marks each user's winning decision: the latest decided_at, then the largest
-- decision_id (two reviewers saving in the same instant still give exactly one winner).
-- GDPR: an erased user's decisions carry the user's surrogate id (as everywhere else in the
-- warehouse) and lose their free-text note, which may describe the person (docs/privacy.md).
with

source_decisions as (
    select * from {{ source('ops', 'fraud_review_decisions') }}
),

stg_ops__gdpr_erasure_requests as (
    select * from {{ ref('stg_ops__gdpr_erasure_requests') }}
),

cleaned as (
    select
        -- ids
        trim(source_decisions.decision_id) as decision_id,
        coalesce(erasure.erased_user_id, trim(source_decisions.user_id)) as user_id,

        -- decision
        lower(trim(source_decisions.decision)) as decision,
        trim(source_decisions.reviewer) as reviewer,
        case when erasure.user_id is null then nullif(trim(source_decisions.note), '') end as note,
        cast(source_decisions.risk_score_at_decision as {{ type_float64() }}) as risk_score_at_decision,
        source_decisions.score_version,

        -- timestamps
        cast(source_decisions.decided_at as {{ dbt.type_timestamp() }}) as decided_at
    from source_decisions
    left join stg_ops__gdpr_erasure_requests as erasure
        on trim(source_decisions.user_id) = erasure.user_id
    where source_decisions.decision_id is not null
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by decision_id
            order by decided_at desc, user_id desc, decision desc, reviewer desc
        ) as copy_number
    from cleaned
),

final as (
    select
        decision_id,
        user_id,
        decision,
        reviewer,
        note,
        risk_score_at_decision,
        score_version,
        decided_at,
        row_number() over (
            partition by user_id
            order by decided_at desc, decision_id desc
        ) = 1 as latest_for_user
    from deduplicated
    where copy_number = 1
)

select * from final
