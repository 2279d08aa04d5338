-- The completion events of the v2 log in the shape of v1's raw.user_offers: one row per
-- event (a status change of a completion), copies of one event dropped, bad events kept (the
-- v1 rules of base_offerwall__user_offers quarantine them again, with v1's reasons, and a
-- completion whose latest event is bad is not staged, as in v1). With the var source_model
-- = v2, base_offerwall__user_offers reads this instead of raw.user_offers: the completion
-- status is the projection of its events (the latest event_time, then ingested_at, wins).
with

base_offerwall_v2__user_offer_events_dispositioned as (
    select * from {{ ref('base_offerwall_v2__user_offer_events_dispositioned') }}
),

completion_events as (
    select * from base_offerwall_v2__user_offer_events_dispositioned
    where disposition <> 'duplicate'
        and completion_id is not null
        and event_type not in ('offer_impression', 'offer_started')
),

final as (
    select
        completion_id as id,
        user_id,
        offer_id,
        offer_task_id,
        case event_type
            when 'task_completed' then 'pending'
            else event_type
        end as status,
        reward_coins,
        payout_cents,
        started_at,
        completed_at,
        event_time as updated_at,
        country,
        device_platform,
        ip_hash,
        device_hash,
        ingested_at as _loaded_at
    from completion_events
)

select * from final
