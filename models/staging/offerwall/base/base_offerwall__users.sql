-- Every raw.users row, typed and cleaned, with its disposition: `staged` (the latest copy of
-- the user, by _loaded_at), `superseded` (an older or identical copy) or `quarantined`
-- (`reason` names the rule it breaks). GDPR: erased users get their surrogate id here, for
-- themselves and as a referrer. The one join: the referrer. A user whose referrer is not a
-- user of the replica is kept (never dropped for its parent): referrer_user_id NULL and
-- has_unknown_referrer true.
-- Volume guard: built after the raw load passed its guards (models/audit).
{% if source_model() == 'v1' -%}
-- depends_on: {{ ref('audit_raw_load_profile') }}
{%- endif %}
with

source as (
    {#- source_model(): v2 keeps this table's v1 shape (docs/source-redesign.md) #}
    {% if source_model() == 'v2' %}
        select * from {{ source('offerwall_v2', 'users') }}
    {% else %}
        select * from {{ source('offerwall', 'users') }}
    {% endif %}
),

stg_ops__gdpr_erasure_requests as (
    select * from {{ ref('stg_ops__gdpr_erasure_requests') }}
),

cleaned as (
    select
        -- ids
        coalesce(erased.erased_user_id, trim(source.id)) as user_id,
        coalesce(erased_referrer.erased_user_id, nullif(trim(source.referrer_user_id), '')) as referrer_user_id,

        -- dimensions
        {{ clean_code('source.country', 'upper') }} as country,
        {{ clean_code('source.platform') }} as platform,
        {{ clean_code('source.acquisition_channel') }} as acquisition_channel,

        -- timestamps
        source.created_at as signed_up_at,
        source._loaded_at as loaded_at
    from source
    left join stg_ops__gdpr_erasure_requests as erased
        on trim(source.id) = erased.user_id
    left join stg_ops__gdpr_erasure_requests as erased_referrer
        on trim(source.referrer_user_id) = erased_referrer.user_id
),

known_users as (
    select distinct user_id
    from cleaned
    where user_id is not null
),

fingerprinted as (
    select
        cleaned.*,
        cleaned.referrer_user_id is not null and referrers.user_id is null as has_unknown_referrer,
        {{ row_fingerprint([
            'cleaned.referrer_user_id', 'cleaned.country', 'cleaned.platform',
            'cleaned.acquisition_channel', 'cleaned.signed_up_at',
        ]) }} as row_fingerprint
    from cleaned
    left join known_users as referrers
        on cleaned.referrer_user_id = referrers.user_id
),

{{ disposition_ctes(
    relation='fingerprinted',
    entity_key='user_id',
    version_columns=['loaded_at'],
    own_rules=[
        ['null_key', "user_id is null or user_id = '' or signed_up_at is null"],
        ['signed_up_in_future', 'signed_up_at > loaded_at'],
    ],
) }},

final as (
    select
        -- ids
        {{ row_key(['user_id', 'loaded_at', 'row_fingerprint', 'copy_number']) }} as raw_row_key,
        user_id,
        case when not has_unknown_referrer then referrer_user_id end as referrer_user_id,
        has_unknown_referrer,

        -- dimensions
        country,
        platform,
        acquisition_channel,

        -- disposition
        disposition,
        reason,

        -- timestamps
        signed_up_at,
        loaded_at
    from dispositioned
)

select * from final
