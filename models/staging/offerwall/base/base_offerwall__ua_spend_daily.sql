-- Every raw.ua_spend_daily row, typed and cleaned, with its disposition: `staged` (the latest
-- copy of a day x channel x country x platform, by _loaded_at), `superseded` (an older or
-- identical copy) or `quarantined` (`reason` names the rule it breaks).
with

source as (
    select * from {{ source('offerwall', 'ua_spend_daily') }}
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
        {{ row_fingerprint(['spend_date', 'channel', 'country', 'platform']) }} as grain_key,
        {{ row_fingerprint(['spend_usd']) }} as row_fingerprint
    from cleaned
),

ranked as (
    select
        *,
        row_number() over (
            partition by grain_key
            order by loaded_at desc, row_fingerprint
        ) as version_rank,
        min(row_fingerprint) over (partition by grain_key, loaded_at)
        <> max(row_fingerprint) over (partition by grain_key, loaded_at) as is_conflicting,
        row_number() over (
            partition by grain_key, loaded_at, row_fingerprint
            order by row_fingerprint
        ) as copy_number
    from fingerprinted
),

checked as (
    select
        *,
        {{ first_failed_rule([
            ['null_key', 'spend_date is null or channel is null or country is null or platform is null'],
            ['conflicting_duplicate', 'is_conflicting'],
            ['null_amount', 'spend_usd is null'],
            ['negative_amount', 'spend_usd < 0'],
            ['spend_in_future', 'spend_date > cast(loaded_at as date)'],
        ]) }} as reason
    from ranked
),

final as (
    select
        -- ids
        {{ row_fingerprint(['grain_key', 'loaded_at', 'row_fingerprint', 'copy_number']) }} as raw_row_key,
        grain_key as spend_key,

        -- grain
        spend_date,
        channel,
        country,
        platform,

        -- amounts
        spend_usd,

        -- disposition
        case
            when reason is not null then 'quarantined'
            when version_rank = 1 then 'staged'
            else 'superseded'
        end as disposition,
        reason,

        -- timestamps
        loaded_at
    from checked
)

select * from final
