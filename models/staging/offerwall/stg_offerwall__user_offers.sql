-- One row per task completion: its latest version (latest updated_at, then _loaded_at), clean
-- rows only, amounts in USD. Bad rows: stg_offerwall__user_offers_quarantine.
-- Quarantine gate: this model depends on the quarantine model, so a failing quarantine share
-- test (severity error) stops `dbt build` before anything downstream is rebuilt.
-- depends_on: {{ ref('stg_offerwall__user_offers_quarantine') }}
with

base_offerwall__user_offers as (
    select * from {{ ref('base_offerwall__user_offers') }}
),

final as (
    select
        -- ids
        completion_id,
        user_id,
        offer_id,
        offer_task_id,

        -- status and context
        status,
        country,
        device_platform,
        ip_hash,
        device_hash,

        -- amounts (the completion's own, nominal)
        reward_coins,
        {{ coins_to_usd('reward_coins') }} as reward_usd,
        payout_cents,
        {{ cents_to_usd('payout_cents') }} as payout_usd,

        -- timestamps
        started_at,
        completed_at,
        updated_at,
        loaded_at
    from base_offerwall__user_offers
    where disposition = 'staged'
)

select * from final
