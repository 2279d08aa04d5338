-- One row per version of an offer task, valid in [valid_from, valid_to).
with

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

final as (
    select
        -- ids
        offer_task_version_id,
        offer_task_id,
        offer_id,
        version_number,

        -- descriptive
        task_position,
        title,
        task_type,
        status,

        -- amounts
        reward_coins,
        reward_usd,
        payout_usd,

        -- validity
        valid_from,
        valid_to,
        is_current
    from int_offer_task_versions
)

select * from final
