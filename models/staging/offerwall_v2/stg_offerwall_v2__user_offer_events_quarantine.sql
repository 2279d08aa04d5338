-- The v2 event rows that break a rule, one row per stored row, with the `reason`. Nothing
-- here reaches the marts; every stored row is staged, a duplicate of a staged one, or here.
with

base_offerwall_v2__user_offer_events_dispositioned as (
    select * from {{ ref('base_offerwall_v2__user_offer_events_dispositioned') }}
),

final as (
    select * from base_offerwall_v2__user_offer_events_dispositioned
    where disposition = 'quarantined'
)

select * from final
