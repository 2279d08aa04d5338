-- One row per offer task, its current state, with its offer and its version count.
with

stg_offerwall__offer_tasks as (
    select * from {{ ref('stg_offerwall__offer_tasks') }}
),

int_offer_task_versions as (
    select * from {{ ref('int_offer_task_versions') }}
),

version_counts as (
    select
        offer_task_id,
        count(*) as version_count
    from int_offer_task_versions
    group by 1
),

final as (
    select
        -- ids
        tasks.offer_task_id,
        tasks.offer_id,

        -- descriptive
        tasks.task_position,
        tasks.title,
        tasks.task_type,
        tasks.status,

        -- amounts (today)
        tasks.reward_coins,
        tasks.reward_usd,
        tasks.payout_usd,
        cast(tasks.payout_usd - tasks.reward_usd as numeric) as margin_usd,

        -- history
        coalesce(version_counts.version_count, 0) as version_count,

        -- timestamps
        tasks.created_at,
        tasks.updated_at
    from stg_offerwall__offer_tasks as tasks
    left join version_counts
        on tasks.offer_task_id = version_counts.offer_task_id
)

select * from final
