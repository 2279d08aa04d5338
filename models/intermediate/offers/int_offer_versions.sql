-- One row per captured version of an offer, valid in [valid_from, valid_to) (valid_to NULL
-- for the current one); the first version is valid from the offer's created_at. Same rules
-- as int_offer_task_versions.
with

snp_offerwall__offers as (
    select * from {{ ref('snp_offerwall__offers') }}
),

ordered as (
    select
        *,
        {{ scd_version_order('offer_id') }}
    from snp_offerwall__offers
),

final as (
    select
        -- ids
        dbt_scd_id as offer_version_id,
        offer_id,
        version_number,

        -- descriptive
        offer_name,
        advertiser,
        provider,
        category,
        status,
        is_worldwide,

        -- validity
        {{ scd_validity() }},

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from ordered
)

select * from final
