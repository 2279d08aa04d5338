-- The offer versions of v2 in the shape of v1's snapshot snp_offerwall__offers (the columns
-- of stg_offerwall__offers plus dbt_scd_id and the validity columns). With the var
-- source_model = v2, int_offer_versions reads this instead of the snapshot.
with

stg_offerwall_v2__offer_versions as (
    select * from {{ ref('stg_offerwall_v2__offer_versions') }}
),

final as (
    select
        -- the stg_offerwall__offers columns
        offer_id,
        offer_name,
        advertiser,
        provider,
        category,
        status,
        platforms,
        countries,
        is_worldwide,
        created_at,
        updated_at,
        loaded_at,

        -- the snapshot's columns
        offer_version_id as dbt_scd_id,
        updated_at as dbt_updated_at,
        valid_from as dbt_valid_from,
        valid_to as dbt_valid_to
    from stg_offerwall_v2__offer_versions
)

select * from final
