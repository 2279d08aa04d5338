-- One row per offer task: its latest clean version, amounts in USD.
-- Bad rows: stg_offerwall__offer_tasks_quarantine.
-- Quarantine gate: this model depends on the quarantine model, so a failing quarantine share
-- test (severity error) stops `dbt build` before anything downstream is rebuilt.
-- depends_on: {{ ref('stg_offerwall__offer_tasks_quarantine') }}
with

base_offerwall__offer_tasks as (
    select * from {{ ref('base_offerwall__offer_tasks') }}
),

final as (
    select
        -- ids
        offer_task_id,
        offer_id,

        -- descriptive
        task_position,
        title,
        task_type,
        status,

        -- amounts
        reward_coins,
        {{ coins_to_usd('reward_coins') }} as reward_usd,
        payout_cents,
        {{ cents_to_usd('payout_cents') }} as payout_usd,

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from base_offerwall__offer_tasks
    where disposition = 'staged'
)

select * from final
