-- The task versions of v2 in the shape of v1's snapshot snp_offerwall__offer_tasks (the
-- columns of stg_offerwall__offer_tasks plus dbt_scd_id and the validity columns). With the
-- var source_model = v2, int_offer_task_versions reads this instead of the snapshot, so one
-- model turns versions into intervals for both sources.
with

stg_offerwall_v2__offer_task_versions as (
    select * from {{ ref('stg_offerwall_v2__offer_task_versions') }}
),

final as (
    select
        -- the stg_offerwall__offer_tasks columns
        offer_task_id,
        offer_id,
        task_position,
        title,
        task_type,
        status,
        reward_coins,
        reward_usd,
        payout_cents,
        payout_usd,
        created_at,
        updated_at,
        loaded_at,

        -- the snapshot's columns
        offer_task_version_id as dbt_scd_id,
        updated_at as dbt_updated_at,
        valid_from as dbt_valid_from,
        valid_to as dbt_valid_to
    from stg_offerwall_v2__offer_task_versions
)

select * from final
