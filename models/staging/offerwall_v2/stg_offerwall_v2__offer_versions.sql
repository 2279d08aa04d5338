-- One row per version of an offer, valid in [valid_from, valid_to) (valid_to NULL for the
-- current one), clean versions only: the columns of int_offer_versions, which reads this
-- instead of the snapshot when the var source_model is v2.
-- Bad rows: stg_offerwall_v2__offer_versions_quarantine.
with

base_offerwall_v2__offer_versions as (
    select * from {{ ref('base_offerwall_v2__offer_versions') }}
),

staged as (
    select
        *,
        {{ json_text_array('platforms_json', 'lower') }} as platforms,
        {{ json_text_array('countries_json', 'upper') }} as countries,
        lead(valid_from) over (partition by offer_id order by version_number) as next_valid_from
    from base_offerwall_v2__offer_versions
    where disposition = 'staged'
),

final as (
    select
        -- ids
        cast(offer_version_id as {{ dbt.type_string() }}) as offer_version_id,
        offer_id,
        cast(version_number as {{ dbt.type_bigint() }}) as version_number,

        -- descriptive
        offer_name,
        advertiser,
        provider,
        category,
        status,

        -- targeting
        platforms,
        countries,
        array_length(countries) = 0 as is_worldwide,

        -- validity
        valid_from,
        next_valid_from as valid_to,
        next_valid_from is null as is_current,

        -- timestamps
        created_at,
        valid_from as updated_at,
        loaded_at
    from staged
)

select * from final
