-- The raw_v2.offer_versions rows that break a rule, one row per raw row, with the `reason`.
with

base_offerwall_v2__offer_versions as (
    select * from {{ ref('base_offerwall_v2__offer_versions') }}
),

final as (
    select * from base_offerwall_v2__offer_versions
    where disposition = 'quarantined'
)

select * from final
