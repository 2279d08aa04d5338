-- The raw.offer_tasks rows that break a rule, one row per raw row, with the `reason` (the first
-- rule broken). Nothing here reaches the marts; every raw row is either staged, superseded
-- by a newer version of itself, or here (tested on the source).
with

base_offerwall__offer_tasks as (
    select * from {{ ref('base_offerwall__offer_tasks') }}
),

final as (
    select * from base_offerwall__offer_tasks
    where disposition = 'quarantined'
)

select * from final
