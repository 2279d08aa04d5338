-- Every raw.users row, typed and cleaned, with its disposition: `staged` (the latest copy of
-- the user, by _loaded_at), `superseded` (an older or identical copy) or `quarantined`
-- (`reason` names the rule it breaks). GDPR: erased users get their surrogate id here, for
-- themselves and as a referrer.
with

source as (
    select * from {{ source('offerwall', 'users') }}
),

stg_gdpr__erasure_requests as (
    select * from {{ ref('stg_gdpr__erasure_requests') }}
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
    left join stg_gdpr__erasure_requests as erased
        on trim(source.id) = erased.user_id
    left join stg_gdpr__erasure_requests as erased_referrer
        on trim(source.referrer_user_id) = erased_referrer.user_id
),

fingerprinted as (
    select
        *,
        {{ row_fingerprint([
            'referrer_user_id', 'country', 'platform', 'acquisition_channel', 'signed_up_at',
        ]) }} as row_fingerprint
    from cleaned
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_id
            order by loaded_at desc, row_fingerprint
        ) as version_rank,
        min(row_fingerprint) over (partition by user_id, loaded_at)
        <> max(row_fingerprint) over (partition by user_id, loaded_at) as is_conflicting,
        row_number() over (
            partition by user_id, loaded_at, row_fingerprint
            order by row_fingerprint
        ) as copy_number
    from fingerprinted
),

checked as (
    select
        *,
        {{ first_failed_rule([
            ['null_key', "user_id is null or user_id = '' or signed_up_at is null"],
            ['conflicting_duplicate', 'is_conflicting'],
            ['signed_up_in_future', 'signed_up_at > loaded_at'],
        ]) }} as reason
    from ranked
),

final as (
    select
        -- ids
        {{ row_fingerprint(['user_id', 'loaded_at', 'row_fingerprint', 'copy_number']) }} as raw_row_key,
        user_id,
        referrer_user_id,

        -- dimensions
        country,
        platform,
        acquisition_channel,

        -- disposition
        case
            when reason is not null then 'quarantined'
            when version_rank = 1 then 'staged'
            else 'superseded'
        end as disposition,
        reason,

        -- timestamps
        signed_up_at,
        loaded_at
    from checked
)

select * from final
