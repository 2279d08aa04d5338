-- One row per user: the latest clean copy. Bad rows: stg_offerwall__users_quarantine.
-- Quarantine gate: this model depends on the quarantine model, so a failing quarantine share
-- test (severity error) stops `dbt build` before anything downstream is rebuilt.
-- depends_on: {{ ref('stg_offerwall__users_quarantine') }}
with

base_offerwall__users as (
    select * from {{ ref('base_offerwall__users') }}
),

final as (
    select
        -- ids
        user_id,
        referrer_user_id,

        -- flags
        has_unknown_referrer,

        -- dimensions
        country,
        platform,
        acquisition_channel,

        -- timestamps
        signed_up_at,
        cast(signed_up_at as date) as signup_date,
        loaded_at
    from base_offerwall__users
    where disposition = 'staged'
)

select * from final
