-- One row per spend day x channel x country x platform: the latest clean copy.
-- Bad rows: stg_offerwall__ua_spend_daily_quarantine.
-- Quarantine gate: this model depends on the quarantine model, so a failing quarantine share
-- test (severity error) stops `dbt build` before anything downstream is rebuilt.
-- depends_on: {{ ref('stg_offerwall__ua_spend_daily_quarantine') }}
with

base_offerwall__ua_spend_daily as (
    select * from {{ ref('base_offerwall__ua_spend_daily') }}
),

final as (
    select
        -- ids
        spend_key,

        -- grain
        spend_date,
        channel,
        country,
        platform,

        -- amounts
        cast(spend_usd as numeric) as spend_usd,

        -- timestamps
        loaded_at
    from base_offerwall__ua_spend_daily
    where disposition = 'staged'
)

select * from final
