-- The current state of each offer in the shape of v1's raw.offers: the rows of its latest
-- version (a bad one included; the v1 rules of base_offerwall__offers quarantine it). With
-- the var source_model = v2, base_offerwall__offers reads this instead of raw.offers.
with

source as (
    select * from {{ source('offerwall_v2', 'offer_versions') }}
),

latest as (
    select
        *,
        max(version_number) over (partition by offer_id) as latest_version_number
    from source
),

final as (
    select
        offer_id as id,
        name,
        advertiser,
        provider,
        category,
        platforms,
        countries,
        status,
        created_at,
        valid_from as updated_at,
        _ingested_at as _loaded_at
    from latest
    where version_number = latest_version_number
)

select * from final
