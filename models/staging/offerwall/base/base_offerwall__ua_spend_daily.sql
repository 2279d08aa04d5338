-- Every raw.ua_spend_daily row, typed and cleaned, with its disposition: `staged` (the latest
-- copy of a day x channel x country x platform, by _loaded_at), `superseded` (an older or
-- identical copy) or `quarantined` (`reason` names the rule it breaks).
-- Volume guard: built after the raw load passed its guards (models/audit).
{% if source_model() == 'v1' -%}
-- depends_on: {{ ref('audit_raw_load_profile') }}
{%- endif %}
with

source as (
    {#- source_model(): v2 keeps this table's v1 shape (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ source('offerwall_v2', 'ua_spend_daily') }}
    {% else %}
        select * from {{ source('offerwall', 'ua_spend_daily') }}
    {% endif %}
),

cleaned as (
    select
        -- grain
        spend_date,
        {{ clean_code('channel') }} as channel,
        {{ clean_code('country', 'upper') }} as country,
        {{ clean_code('platform') }} as platform,

        -- amounts
        spend_usd,

        -- timestamps
        _loaded_at as loaded_at
    from source
),

fingerprinted as (
    select
        *,
        {{ text_row_hash(['spend_date', 'channel', 'country', 'platform']) }} as grain_key,
        {{ row_fingerprint(['spend_usd']) }} as row_fingerprint
    from cleaned
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='grain_key',
    version_columns=['loaded_at'],
    own_rules=[
        ['null_key', 'spend_date is null or channel is null or country is null or platform is null'],
        ['null_amount', 'spend_usd is null'],
        ['negative_amount', 'spend_usd < 0'],
        ['absurd_amount', 'spend_usd > ' ~ var('max_daily_spend_usd')],
        ['spend_in_future', 'spend_date > cast(loaded_at as date)'],
    ],
) }},

final as (
    select
        -- ids
        {{ row_key(['grain_key', 'loaded_at', 'row_fingerprint', 'copy_number']) }} as raw_row_key,
        grain_key as spend_key,

        -- grain
        spend_date,
        channel,
        country,
        platform,

        -- amounts
        spend_usd,

        -- disposition
        disposition,
        reason,

        -- timestamps
        loaded_at
    from dispositioned
)

select * from final
