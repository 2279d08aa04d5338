-- One row per offer: its latest clean version. Bad rows: stg_offerwall__offers_quarantine.
-- Quarantine gate: this model depends on the quarantine model, so a failing quarantine share
-- test (severity error) stops `dbt build` before anything downstream is rebuilt.
-- depends_on: {{ ref('stg_offerwall__offers_quarantine') }}
with

base_offerwall__offers as (
    select * from {{ ref('base_offerwall__offers') }}
),

staged as (
    select
        -- ids
        offer_id,

        -- descriptive
        offer_name,
        advertiser,
        provider,
        category,
        status,

        -- targeting
        {{ json_text_array('platforms_json', 'lower') }} as platforms,
        {{ json_text_array('countries_json', 'upper') }} as countries,

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from base_offerwall__offers
    where disposition = 'staged'
),

final as (
    select
        -- ids
        offer_id,

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

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from staged
)

select * from final
