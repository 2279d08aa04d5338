-- One row per version of an offer task, valid in [valid_from, valid_to) (valid_to NULL for
-- the current one), clean versions only, amounts in USD: the columns of
-- int_offer_task_versions, which reads this instead of the snapshot when the var
-- source_model is v2. Unlike a snapshot it holds the history from the task's creation, also
-- before the warehouse existed. Bad rows: stg_offerwall_v2__offer_task_versions_quarantine.
with

base_offerwall_v2__offer_task_versions as (
    select * from {{ ref('base_offerwall_v2__offer_task_versions') }}
),

staged as (
    select
        *,
        lead(valid_from) over (partition by offer_task_id order by version_number) as next_valid_from
    from base_offerwall_v2__offer_task_versions
    where disposition = 'staged'
),

final as (
    select
        -- ids
        cast(offer_task_version_id as {{ dbt.type_string() }}) as offer_task_version_id,
        offer_task_id,
        offer_id,
        cast(version_number as {{ dbt.type_bigint() }}) as version_number,

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

        -- validity
        valid_from,
        next_valid_from as valid_to,
        next_valid_from is null as is_current,

        -- timestamps
        created_at,
        valid_from as updated_at,
        loaded_at
    from staged
)

select * from final
