-- One row per event of the v2 log: the first-ingested copy of each idempotency key, clean
-- events only (bad ones: stg_offerwall_v2__user_offer_events_quarantine), user ids of erased
-- users replaced and their network fingerprints removed (GDPR, as in v1 staging).
-- Completion events carry the status the completion has after them.
with

base_offerwall_v2__user_offer_events_dispositioned as (
    select * from {{ ref('base_offerwall_v2__user_offer_events_dispositioned') }}
),

stg_ops__gdpr_erasure_requests as (
    select * from {{ ref('stg_ops__gdpr_erasure_requests') }}
),

staged as (
    select * from base_offerwall_v2__user_offer_events_dispositioned
    where disposition = 'staged'
),

final as (
    select
        -- ids
        staged.idempotency_key,
        coalesce(erasure.erased_user_id, staged.user_id) as user_id,
        staged.offer_id,
        staged.offer_version_id,
        staged.user_offer_id,
        staged.impression_id,
        staged.completion_id,
        staged.offer_task_id,
        staged.offer_task_version_id,

        -- event
        staged.event_type,
        case staged.event_type
            when 'task_completed' then 'pending'
            when 'credited' then 'credited'
            when 'reversed' then 'reversed'
            when 'rejected' then 'rejected'
        end as completion_status,
        staged.event_reason,
        staged.schema_version,

        -- completion payload
        staged.reward_coins,
        staged.payout_cents,
        staged.country,
        staged.device_platform,
        case when erasure.user_id is null then staged.ip_hash end as ip_hash,
        case when erasure.user_id is null then staged.device_hash end as device_hash,

        -- personalised display
        staged.placement,
        staged.display_position,
        staged.shown_reward_coins,
        staged.base_reward_coins,
        staged.experiment_id,
        staged.variant_id,

        -- timestamps
        staged.started_at,
        staged.completed_at,
        staged.event_time,
        staged.ingested_at
    from staged
    left join stg_ops__gdpr_erasure_requests as erasure
        on staged.user_id = erasure.user_id
)

select * from final
