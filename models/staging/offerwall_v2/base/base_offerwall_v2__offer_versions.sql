-- Every offer_versions row, typed and cleaned, with its disposition: `staged` (one row per
-- version), `superseded` (an exact copy) or `quarantined` (`reason`: the first rule broken).
-- A version's own rules are v1's offer rules; then `conflicting_duplicate`; then the offer
-- as a whole: a version of an offer the v1 offer rules do not stage (its latest version is
-- bad) is quarantined as `offer_not_staged`.
with

source as (
    select * from {{ source('offerwall_v2', 'offer_versions') }}
),

stg_offerwall__offers as (
    select * from {{ ref('stg_offerwall__offers') }}
),

cleaned as (
    select
        -- ids
        offer_version_id,
        offer_id,
        version_number,

        -- descriptive
        trim(name) as offer_name,
        trim(advertiser) as advertiser,
        {{ clean_code('provider') }} as provider,
        {{ clean_code('category') }} as category,
        {{ clean_code('status') }} as status,

        -- JSON array text
        platforms as platforms_json,
        countries as countries_json,

        -- timestamps
        valid_from,
        created_at,
        _ingested_at as loaded_at
    from source
),

fingerprinted as (
    select
        cleaned.*,
        staged_offers.offer_id is not null as is_offer_staged,
        {{ row_fingerprint([
            'cleaned.offer_id', 'cleaned.version_number', 'cleaned.offer_name', 'cleaned.advertiser',
            'cleaned.provider', 'cleaned.category', 'cleaned.status', 'cleaned.platforms_json',
            'cleaned.countries_json', 'cleaned.valid_from', 'cleaned.created_at',
        ]) }} as row_fingerprint
    from cleaned
    left join stg_offerwall__offers as staged_offers
        on cleaned.offer_id = staged_offers.offer_id
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='offer_version_id',
    version_columns=['loaded_at'],
    own_rules=[
        ['null_key', 'offer_version_id is null or offer_id is null or version_number is null or valid_from is null or created_at is null'],
        ['unknown_status', "coalesce(status, '') not in ('active', 'paused', 'ended')"],
        ['malformed_json', 'not (' ~ is_json_text_array('platforms_json') ~ ' and ' ~ is_json_text_array('countries_json') ~ ')'],
    ],
    parent_rules=[
        ['offer_not_staged', 'not is_offer_staged'],
    ],
) }},

final as (
    select
        -- ids
        {{ row_key(['offer_version_id', 'loaded_at', 'row_fingerprint', 'copy_number']) }} as raw_row_key,
        offer_version_id,
        offer_id,
        version_number,

        -- descriptive
        offer_name,
        advertiser,
        provider,
        category,
        status,
        platforms_json,
        countries_json,

        -- disposition
        disposition,
        reason,

        -- timestamps
        valid_from,
        created_at,
        loaded_at
    from dispositioned
)

select * from final
