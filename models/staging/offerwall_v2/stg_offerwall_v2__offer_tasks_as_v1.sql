-- The current state of each offer task in the shape of v1's raw.offer_tasks: the rows of its
-- latest version (a bad one included; the v1 rules of base_offerwall__offer_tasks quarantine
-- it). With the var source_model = v2, base_offerwall__offer_tasks reads this instead of
-- raw.offer_tasks, so current tasks are staged by one set of rules for both sources.
with

source as (
    select * from {{ source('offerwall_v2', 'offer_task_versions') }}
),

latest as (
    select
        *,
        max(version_number) over (partition by offer_task_id) as latest_version_number
    from source
),

final as (
    select
        offer_task_id as id,
        offer_id,
        position,
        title,
        task_type,
        reward_coins,
        payout_cents,
        status,
        created_at,
        valid_from as updated_at,
        _ingested_at as _loaded_at
    from latest
    where version_number = latest_version_number
)

select * from final
