-- Every raw.offers row, typed and cleaned, with its disposition: `staged` (the latest clean
-- version of the offer), `superseded` (an older version or an exact copy) or `quarantined`
-- (breaks a rule of docs/source_system.md; `reason` names the first one). Time sanity:
-- created_at/updated_at after _loaded_at (+ var future_tolerance_hours) is quarantined and
-- never counts as the latest version (it cannot open a snapshot version dated in the future).
-- Volume guard: built after the raw load passed its guards (models/audit).
{% if source_model() == 'v1' -%}
-- depends_on: {{ ref('audit_raw_load_profile') }}
{%- endif %}
with

source as (
    {#- source_model(): with v2 the same rules read the v2 projection (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ ref('stg_offerwall_v2__offers_as_v1') }}
    {% else %}
        select * from {{ source('offerwall', 'offers') }}
    {% endif %}
),

cleaned as (
    select
        -- ids
        id as offer_id,

        -- descriptive
        trim(name) as offer_name,
        trim(advertiser) as advertiser,
        {{ clean_code('provider') }} as provider,
        {{ clean_code('category') }} as category,
        {{ clean_code('status') }} as status,

        -- JSON array text, as replicated
        platforms as platforms_json,
        countries as countries_json,

        -- timestamps
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from source
),

fingerprinted as (
    select
        *,
        {{ row_fingerprint([
            'offer_name', 'advertiser', 'provider', 'category', 'status',
            'platforms_json', 'countries_json', 'created_at',
        ]) }} as row_fingerprint
    from cleaned
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='offer_id',
    version_columns=['updated_at', 'loaded_at'],
    own_rules=[
        ['null_key', 'offer_id is null or created_at is null or updated_at is null'],
        ['unknown_status', "coalesce(status, '') not in ('active', 'paused', 'ended')"],
        ['malformed_json', 'not (' ~ is_json_text_array('platforms_json') ~ ' and ' ~ is_json_text_array('countries_json') ~ ')'],
        ['created_in_future', future_condition('created_at')],
        ['updated_in_future', future_condition('updated_at')],
    ],
    unordered_reasons=['created_in_future', 'updated_in_future'],
) }},

final as (
    select
        -- ids
        {{ row_key([
            'offer_id', 'updated_at', 'loaded_at', 'row_fingerprint', 'copy_number',
        ]) }} as raw_row_key,
        offer_id,

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
        created_at,
        updated_at,
        loaded_at
    from dispositioned
)

select * from final
