-- One row per captured version of an offer task, with the interval it was valid:
-- [valid_from, valid_to), valid_to NULL for the current version. Versions come from the
-- snapshot (a new one whenever updated_at moves). The first version is valid from the task's
-- created_at, not from the first snapshot, so completions older than the first snapshot still
-- find a version (the best knowledge the warehouse has of those days).
with

snp_offerwall__offer_tasks as (
    select * from {{ ref('snp_offerwall__offer_tasks') }}
),

ordered as (
    select
        *,
        {{ scd_version_order('offer_task_id') }}
    from snp_offerwall__offer_tasks
),

final as (
    select
        -- ids
        dbt_scd_id as offer_task_version_id,
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
        payout_cents,
        payout_usd,

        -- validity
        {{ scd_validity() }},

        -- timestamps
        created_at,
        updated_at,
        loaded_at
    from ordered
)

select * from final
